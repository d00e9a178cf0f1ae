"""The Local Mind language server: a pygls server whose features are small classes (lsp/features/).

Every request handler is contained: an exception becomes a JSON-RPC error for that request only, and
malformed messages (invalid JSON, wrong parameters, unknown methods) get error responses while the
server keeps serving. Logs go to stderr and window/logMessage, never stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from localmind import __version__

log = logging.getLogger(__name__)
# Cancellations of requests that already finished are forgotten after this many newer ones.
_REMEMBERED_CANCELS = 256


class LocalMindProtocol(LanguageServerProtocol):
    """Answers messages that pygls can only log: a request whose parameters do not fit its method gets
    an InvalidParams error instead of silence, so the client never waits for an answer that won't come."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "method" in data and isinstance(data.get("id"), int | str):
                self._send_response(data["id"], error=exc.to_response_error())
            raise

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Handler tasks by request id, so $/cancelRequest reaches a request that already started (pygls
        # alone can only drop one that has not, and loses track of command requests).
        self.in_flight: dict[Any, asyncio.Task[Any]] = {}
        # Ids the client cancelled, oldest first; a handler that starts later finds its id here.
        self.cancelled_by_client: dict[Any, None] = {}

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        self.cancelled_by_client[msg_id] = None
        while len(self.cancelled_by_client) > _REMEMBERED_CANCELS:
            del self.cancelled_by_client[next(iter(self.cancelled_by_client))]
        task = self.in_flight.get(msg_id)
        if task is not None:
            task.cancel()
        elif msg_id in self._request_futures:
            super()._handle_cancel_notification(msg_id)


class LocalMindServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            name="localmind",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=LocalMindProtocol,
        )

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Out-of-band errors: invalid JSON gets a ParseError response with a null id (JSON-RPC 2.0);
        the others are logged, not shown, since each request already carries its own error."""
        if isinstance(error, json.JSONDecodeError):
            self.protocol._send_data(_ParseErrorResponse(JsonRpcParseError(f"invalid JSON: {error}")))
            return
        log.warning("server error (%s): %s", getattr(source, "__name__", source), error)


class _ParseErrorResponse(dict[str, Any]):
    """A response to a message with no readable id, written as plain JSON."""

    def __init__(self, error: JsonRpcException) -> None:
        super().__init__(jsonrpc="2.0", id=None, error={"code": error.code, "message": error.message})


def build_server() -> LocalMindServer:
    """A server with every feature registered."""
    from localmind.lsp.features import register_all
    from localmind.lsp.session import Session

    server = LocalMindServer()
    register_all(server, Session(server))
    return server
