"""Domain errors → JSON-RPC errors with messages a user can act on."""

from __future__ import annotations

from lsprotocol.types import LSPErrorCodes
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams

from localmind.errors import ConfigError, EmbeddingInputError, LocalMindError
from localmind.retrieval.query import QueryError


class NoWorkspace(LocalMindError):
    """The client opened no folder, so there is nothing to index or search."""


def request_failed(message: str) -> JsonRpcException:
    return JsonRpcException(message, code=int(LSPErrorCodes.RequestFailed))


def to_rpc_error(error: BaseException) -> JsonRpcException:
    """InvalidParams for a request the user can correct, RequestFailed for a failure we understand,
    InternalError (with the exception's name) for a bug."""
    if isinstance(error, JsonRpcException):
        return error
    if isinstance(error, QueryError | ConfigError | EmbeddingInputError):
        return JsonRpcInvalidParams(str(error))
    if isinstance(error, LocalMindError):
        return request_failed(str(error))
    return JsonRpcInternalError(f"internal error: {type(error).__name__}: {error}")
