"""The client's log (window/logMessage) gets the server's log from INFO up — each request answered, indexing
runs, backends coming and going — redacted like stderr, which keeps its own level (warnings by default), so
an editor's server log shows what the server did without filling stderr."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lsprotocol import types

from localmind.lsp.server import LocalMindServer
from localmind.observability.logs import guard


class ClientLogHandler(logging.Handler):
    """Forwards INFO and above to window/logMessage from any thread, through the server's loop; secrets are
    masked and the record stamped with its request and correlation ids first (observability.logs)."""

    def __init__(self, server: LocalMindServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(level=logging.INFO)
        self.server = server
        self.loop = loop
        guard(self)

    def emit(self, record: logging.LogRecord) -> None:
        kind = (
            types.MessageType.Error
            if record.levelno >= logging.ERROR
            else types.MessageType.Warning
            if record.levelno >= logging.WARNING
            else types.MessageType.Info
        )
        params = types.LogMessageParams(type=kind, message=self.format(record))
        with contextlib.suppress(RuntimeError):  # The loop has closed; stderr still has the record.
            self.loop.call_soon_threadsafe(self.server.window_log_message, params)


def forward_to_client(server: LocalMindServer) -> ClientLogHandler:
    """Forward Local Mind's log to the client; its INFO records now reach the handlers, and the process's
    other handlers (stderr, a log file) keep the level they were configured with."""
    handler = ClientLogHandler(server, asyncio.get_running_loop())
    logger = logging.getLogger("localmind")
    keep_handler_levels(logging.getLogger())
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler


def keep_handler_levels(root: logging.Logger) -> None:
    """Give each of the root's handlers that has no level of its own the root's level, so lowering a
    logger's level below it does not let more through them."""
    for existing in root.handlers:
        if existing.level == logging.NOTSET:
            existing.setLevel(root.level)


def stop_forwarding(handler: ClientLogHandler | None) -> None:
    if handler is not None:
        logging.getLogger("localmind").removeHandler(handler)
