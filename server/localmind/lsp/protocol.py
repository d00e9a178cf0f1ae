"""Local Mind's custom protocol on the server's side: command names, rate-limit classes and error codes.

This is the twin of the VS Code extension's `clients/vscode/src/lsp_ext.ts`, and `docs/protocol.md`
writes both down; change the three together (tests/lsp/test_protocol_doc.py compares them). Nothing else
in the server spells a command name or an error code.
"""

from __future__ import annotations

from typing import Any, Final

from lsprotocol import types

# The custom commands, sent with workspace/executeCommand.
SEARCH: Final = "localmind.search"
RELATED: Final = "localmind.related"
REINDEX: Final = "localmind.reindex"
STATUS: Final = "localmind.status"
ASK: Final = "localmind.ask"
SUMMARIZE: Final = "localmind.summarize"
COMMANDS: Final = (SEARCH, RELATED, REINDEX, STATUS, ASK, SUMMARIZE)

# Indexing runs report work-done progress under tokens that start with this.
INDEX_PROGRESS_PREFIX: Final = "localmind-index-"
# Partial results of localmind.search go out in batches of this many hits.
PARTIAL_BATCH: Final = 10

# JSON-RPC error codes the server answers with, beyond those pygls sends itself.
RATE_LIMITED_CODE: Final = -32803  # LSP's RequestFailed, for a request over a rate limit.
NOT_INITIALIZED_CODE: Final = -32002  # LSP's ServerNotInitialized, for requests before initialize.
INVALID_REQUEST_CODE: Final = -32600  # JSON-RPC's InvalidRequest, for a message that is no request.
# A rate-limited request fails with a message that starts with this (the clients look for it).
RATE_LIMIT_PREFIX: Final = "rate limited, retry after"

# Which rate limit a request counts against; methods and commands not listed are never limited.
METHOD_CLASSES: Final = {
    types.TEXT_DOCUMENT_HOVER: "hover",
    types.WORKSPACE_SYMBOL: "search",
    types.TEXT_DOCUMENT_DEFINITION: "search",
    types.TEXT_DOCUMENT_REFERENCES: "search",
    types.TEXT_DOCUMENT_DOCUMENT_SYMBOL: "search",
}
COMMAND_CLASSES: Final = {
    SEARCH: "search",
    RELATED: "search",
    ASK: "chat",
    SUMMARIZE: "chat",
    REINDEX: "reindex",
}
# Over its limit, a hover is answered with no card (the editor shows nothing) instead of an error.
EMPTY_WHEN_LIMITED: Final = frozenset({types.TEXT_DOCUMENT_HOVER})


def method_class(method: str, params: Any) -> str | None:
    """The rate-limit class of a request, by method and, for executeCommand, by command."""
    if method == types.WORKSPACE_EXECUTE_COMMAND:
        return COMMAND_CLASSES.get(str(getattr(params, "command", "")))
    return METHOD_CLASSES.get(method)
