"""Warnings and errors reach the client's log (window/logMessage) as well as stderr, redacted the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lsprotocol import types

from localmind.lsp.server import LocalMindServer
from localmind.observability.logs import guard


class ClientLogHandler(logging.Handler):
    """Forwards warnings and errors to window/logMessage from any thread, through the server's loop; secrets
    are masked and the record stamped with its request and correlation ids first (observability.logs)."""

    def __init__(self, server: LocalMindServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(level=logging.WARNING)
        self.server = server
        self.loop = loop
        guard(self)

    def emit(self, record: logging.LogRecord) -> None:
        kind = types.MessageType.Error if record.levelno >= logging.ERROR else types.MessageType.Warning
        params = types.LogMessageParams(type=kind, message=self.format(record))
        with contextlib.suppress(RuntimeError):  # The loop has closed; stderr still has the record.
            self.loop.call_soon_threadsafe(self.server.window_log_message, params)


def forward_to_client(server: LocalMindServer) -> ClientLogHandler:
    handler = ClientLogHandler(server, asyncio.get_running_loop())
    logging.getLogger("localmind").addHandler(handler)
    return handler


def stop_forwarding(handler: ClientLogHandler | None) -> None:
    if handler is not None:
        logging.getLogger("localmind").removeHandler(handler)
