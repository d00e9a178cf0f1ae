"""A read whose service is replaced (a settings change) before the read starts runs again on the new service,
and one whose workspace closed fails with an error: either way the request gets an answer."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from localmind.lsp.features import build_server
from localmind.lsp.session import Session


class DroppingService:
    """A service whose reader was shut down: every read is cancelled before it starts."""

    def __init__(self, session: Session, replacement: Any) -> None:
        self.session = session
        self.replacement = replacement

    def read(self, work: Any, budget: float | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        self.session.service = self.replacement  # The settings changed meanwhile.
        future.cancel()
        return future


class AnsweringService:
    def read(self, work: Any, budget: float | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(work("readers"))
        return future


def test_a_read_dropped_by_a_replaced_service_runs_on_the_new_one() -> None:
    session = Session(build_server())
    session.service = DroppingService(session, AnsweringService())  # type: ignore[assignment]
    assert asyncio.run(session.read(lambda readers: f"answered with {readers}")) == "answered with readers"


def test_a_read_dropped_by_a_closed_workspace_fails_with_an_error() -> None:
    session = Session(build_server())
    session.service = DroppingService(session, None)  # type: ignore[assignment]
    with pytest.raises(JsonRpcException, match="workspace closed"):
        asyncio.run(session.read(lambda readers: readers))


def test_a_cancelled_request_stays_cancelled() -> None:
    session = Session(build_server())

    class Slow:
        def read(self, work: Any, budget: float | None = None) -> Future[Any]:
            return Future()  # Never answers.

    session.service = Slow()  # type: ignore[assignment]

    async def cancel_it() -> None:
        task = asyncio.ensure_future(session.read(lambda readers: readers))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
