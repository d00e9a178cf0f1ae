"""The Local Mind language server: a pygls server whose features are small classes (lsp/features/).

Every request handler is contained: an exception becomes a JSON-RPC error for that request only, and
malformed messages (invalid JSON, wrong parameters, unknown methods) get error responses while the
server keeps serving. Logs go to stderr and window/logMessage, never stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import Counter
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from localmind import __version__
from localmind.config import LimitsSettings
from localmind.lsp.protocol import (
    EMPTY_WHEN_LIMITED,
    INVALID_REQUEST_CODE,
    NOT_INITIALIZED_CODE,
    RATE_LIMIT_PREFIX,
    RATE_LIMITED_CODE,
    method_class,
)
from localmind.observability import metrics
from localmind.observability.context import request_scope
from localmind.resilience import RateLimiter

log = logging.getLogger(__name__)
# Cancellations of requests that already finished are forgotten after this many newer ones.
_REMEMBERED_CANCELS = 256
# What structure_message gives for a message it has already answered with an error.
_ANSWERED = object()


class LocalMindProtocol(LanguageServerProtocol):
    """Answers messages that pygls can only log: a request whose parameters do not fit its method gets
    an InvalidParams error instead of silence, so the client never waits for an answer that won't come."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            message = super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "method" in data and isinstance(data.get("id"), int | str):
                self._send_response(data["id"], error=exc.to_response_error())
            raise
        if isinstance(data, dict) and data.get("id") is not None and "method" in data and not hasattr(message, "id"):
            # A notification sent with an id: the client waits for an answer, so it gets one.
            self._send_invalid_request(data["id"], f"{data['method']} is a notification and takes no id")
            return _ANSWERED
        return message

    def handle_message(self, message: Any) -> None:
        """Every JSON value that is not a JSON-RPC 2.0 message object gets an InvalidRequest error."""
        if message is _ANSWERED:
            return
        if not hasattr(message, "jsonrpc"):
            sent_id = message.get("id") if isinstance(message, dict) else None
            self._send_invalid_request(sent_id if isinstance(sent_id, int | str) else None, "not a JSON-RPC 2.0 object")
            return
        super().handle_message(message)

    def _send_invalid_request(self, msg_id: int | str | None, why: str) -> None:
        self._send_data(_ErrorResponse(msg_id, JsonRpcException(f"invalid request: {why}", code=INVALID_REQUEST_CODE)))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Handler tasks by request id, so $/cancelRequest reaches a request that already started (pygls
        # alone can only drop one that has not, and loses track of command requests).
        self.in_flight: dict[Any, asyncio.Task[Any]] = {}
        # Ids the client cancelled, oldest first; a handler that starts later finds its id here.
        self.cancelled_by_client: dict[Any, None] = {}
        self.limiter = RateLimiter(LimitsSettings())  # type: ignore[call-arg]
        self.rate_limited: Counter[str] = Counter()  # Requests refused, by method class.
        self.connection = f"connection-{id(self):x}"
        # Requests being answered: id → (method, start time), for the latency histogram.
        self._started: dict[Any, tuple[str, float]] = {}
        self.initialize_received = False  # Until then every other request gets ServerNotInitialized.

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        """Every request: counted against its rate limit (refused over it), timed, and tagged with its id
        in the logs (context variables set here are copied into the handler's task). Before `initialize`,
        every other request is answered with ServerNotInitialized (-32002), as the LSP requires."""
        if method_name == types.INITIALIZE:
            self.initialize_received = True
        elif not self.initialize_received:
            error = JsonRpcException("the server is not initialized: send initialize first", code=NOT_INITIALIZED_CODE)
            self._send_response(msg_id, error=error.to_response_error())
            return
        limited = method_class(method_name, params)
        if limited is not None:
            verdict = self.limiter.check(self.connection, limited)
            if not verdict.allowed:
                metrics.RATE_LIMITED.labels(limited).inc()
                self.rate_limited[limited] += 1
                self._refuse(msg_id, method_name, verdict.limit, verdict.retry_after)
                return
        label = method_name
        if method_name == types.WORKSPACE_EXECUTE_COMMAND:
            label = f"{method_name}:{getattr(params, 'command', '?')}"
        self._started[msg_id] = (label, time.perf_counter())
        with request_scope(msg_id):
            super()._handle_request(msg_id, method_name, params)

    def _refuse(self, msg_id: Any, method: str, limit: str, retry_after: float) -> None:
        if method in EMPTY_WHEN_LIMITED:
            self._send_response(msg_id, result=None)
            return
        seconds = max(1, math.ceil(retry_after))
        error = JsonRpcException(
            f"{RATE_LIMIT_PREFIX} {seconds} s (limit: {limit})",
            code=RATE_LIMITED_CODE,
            data={"retryAfter": round(retry_after, 3), "limit": limit},
        )
        self._send_response(msg_id, error=error.to_response_error())

    def _send_response(self, msg_id: Any, result: Any | None = None, error: Any = None) -> None:
        started = self._started.pop(msg_id, None)
        if started is not None:
            method, began = started
            outcome = "ok" if error is None else "error"
            metrics.REQUEST_SECONDS.labels(method, outcome).observe(time.perf_counter() - began)
        super()._send_response(msg_id, result, error)

    def cancel_other_requests(self) -> None:
        """Cancel every pending request but the current one (for shutdown). pygls's own shutdown cancels them
        while it iterates over the same dictionary that a cancelled future's callback removes it from, which
        raises "dictionary changed size during iteration" and fails the shutdown; cancelled here first, from a
        copy, they are already done when pygls looks."""
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != self.msg_id and not future.done():
                future.cancel()

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
            self.protocol._send_data(_ErrorResponse(None, JsonRpcParseError(f"invalid JSON: {error}")))
            return
        log.warning("server error (%s): %s", getattr(source, "__name__", source), error)


class _ErrorResponse(dict[str, Any]):
    """An error response written as plain JSON: to a message with no readable id (null), or to one that is no
    request pygls would answer."""

    def __init__(self, msg_id: int | str | None, error: JsonRpcException) -> None:
        super().__init__(jsonrpc="2.0", id=msg_id, error={"code": error.code, "message": error.message})
