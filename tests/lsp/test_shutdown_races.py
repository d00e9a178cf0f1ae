"""Shutdown while other requests are pending: every pending request is cancelled and the shutdown succeeds.

pygls's own shutdown cancels pending requests while iterating over the dictionary that each cancelled
future's callback removes it from; `cancel_other_requests` (called by the shutdown feature first) avoids that."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from typing import Any

import pytest

from localmind.lsp.features import build_server
from localmind.lsp.server import LocalMindProtocol


def pending_requests(protocol: LocalMindProtocol, count: int) -> list[Future[Any]]:
    """Requests whose futures leave the table when done, as pygls's response callback does."""
    futures: list[Future[Any]] = []
    for msg_id in range(count):
        future: Future[Any] = Future()
        future.add_done_callback(lambda _, key=msg_id: protocol._request_futures.pop(key, None))
        protocol._request_futures[msg_id] = future
        futures.append(future)
    return futures


def run_pygls_shutdown(protocol: LocalMindProtocol) -> None:
    """pygls's shutdown handler to its end, without calling our feature's handler that it yields first."""
    generator = protocol.lsp_shutdown()
    with contextlib.suppress(StopIteration):
        next(generator)
        generator.send(None)


def test_pygls_alone_fails_to_shut_down_with_requests_pending() -> None:
    protocol = build_server().protocol
    assert isinstance(protocol, LocalMindProtocol)
    protocol._ctx_msg_id.set("shutdown")  # As pygls sets it while handling the shutdown request.
    pending_requests(protocol, 3)
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        run_pygls_shutdown(protocol)


def test_cancelling_first_lets_the_shutdown_finish() -> None:
    protocol = build_server().protocol
    assert isinstance(protocol, LocalMindProtocol)
    protocol._ctx_msg_id.set("shutdown")  # As pygls sets it while handling the shutdown request.
    current: Future[Any] = Future()
    protocol._request_futures["shutdown"] = current
    futures = pending_requests(protocol, 3)
    protocol.cancel_other_requests()
    run_pygls_shutdown(protocol)
    assert all(future.cancelled() for future in futures) and not current.done()
    assert list(protocol._request_futures) == ["shutdown"]
