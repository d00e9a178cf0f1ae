"""The guard around backend calls: timeouts, deadlines, retries of transient failures only, refusal
when the breaker is open or every worker is stuck, and the proxy that guards an adapter's methods."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from localmind.config import BackendPolicy
from localmind.resilience import (
    BackendBusy,
    BackendGuard,
    BackendTimeout,
    CircuitOpen,
    Guarded,
    State,
    is_transient,
    within,
)
from localmind.resilience.retry import retrying_call


def policy(**values: float) -> BackendPolicy:
    defaults = {"timeout": 1.0, "retries": 2, "backoff": 0.01, "failure_threshold": 3, "reset_timeout": 60.0}
    return BackendPolicy(**(defaults | values))


class Stuck:
    """A backend call that blocks until released (or, only against a hang, a minute passes), counting the
    calls that started and those that ended."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0
        self.ended = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.started += 1
        released = self.release.wait(60)
        with self._lock:
            self.ended += 1
        return "released" if released else "gave up waiting"


class Flaky:
    """Fails `failures` times with `error`, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "answer"


# Retry classification -------------------------------------------------------------------------------


class _Retryable(Exception):
    def is_retryable(self) -> bool:
        return True


class _MarkedPermanent(Exception):
    transient = False


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TimeoutError("slow"), True),
        (ConnectionRefusedError("refused"), True),
        (BackendTimeout("milvus", "search", 0.1), True),
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("read"), True),
        (_Retryable("neo4j transient"), True),
        (RuntimeError("<_InactiveRpcError: StatusCode.UNAVAILABLE>"), True),
        (RuntimeError("DEADLINE_EXCEEDED"), True),
        (CircuitOpen("neo4j", "open", 3.0), False),
        (BackendBusy("neo4j", "busy"), False),
        (ValueError("bad id"), False),
        (RuntimeError("syntax error in query"), False),
        (_MarkedPermanent("connection refused"), False),  # The adapter's own verdict wins over the words.
    ],
)
def test_transient_classification(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(("status", "transient"), [(429, True), (503, True), (502, True), (401, False), (400, False)])
def test_http_statuses(status: int, transient: bool) -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    error = httpx.HTTPStatusError("status", request=request, response=httpx.Response(status, request=request))
    assert is_transient(error) is transient


# Retries --------------------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_growing_waits() -> None:
    waits: list[float] = []
    flaky = Flaky(2, ConnectionError("refused"))
    assert retrying_call(flaky, policy(retries=2, backoff=0.1), time.monotonic() + 60, sleep=waits.append) == "answer"
    assert flaky.calls == 3
    assert len(waits) == 2 and 0.1 <= waits[0] <= 0.2 and waits[1] >= 0.2


def test_permanent_failures_are_not_retried() -> None:
    flaky = Flaky(5, ValueError("bad query"))
    with pytest.raises(ValueError, match="bad query"):
        retrying_call(flaky, policy(), time.monotonic() + 60, sleep=lambda _: None)
    assert flaky.calls == 1


def test_retries_stop_at_the_configured_count() -> None:
    flaky = Flaky(10, ConnectionError("refused"))
    with pytest.raises(ConnectionError):
        retrying_call(flaky, policy(retries=2), time.monotonic() + 60, sleep=lambda _: None)
    assert flaky.calls == 3


def test_retries_never_wait_past_the_deadline() -> None:
    flaky = Flaky(10, ConnectionError("refused"))
    with pytest.raises(ConnectionError):
        retrying_call(flaky, policy(retries=10, backoff=1.0), time.monotonic() + 0.5, sleep=lambda _: None)
    assert flaky.calls == 1  # The first wait (≥ 1 s) would end after the deadline.


# The guard ------------------------------------------------------------------------------------------


def test_a_slow_call_times_out_at_the_policy_timeout() -> None:
    guard = BackendGuard("milvus", policy(timeout=0.2, retries=0))
    stuck = Stuck()
    with pytest.raises(BackendTimeout) as timed_out:
        guard.call("search", stuck)
    # Order and outcome: the caller was let go while the call was still running, at the policy's timeout.
    assert stuck.ended == 0 and timed_out.value.seconds <= 0.2
    stuck.release.set()


def test_the_callers_deadline_is_tighter_than_the_timeout() -> None:
    guard = BackendGuard("milvus", policy(timeout=5.0, retries=3))
    stuck = Stuck()
    with within(0.1), pytest.raises(BackendTimeout) as timed_out:
        guard.call("search", stuck)
    assert stuck.ended == 0 and timed_out.value.seconds <= 0.1, "let go at the caller's deadline, not after 5 s"
    assert stuck.started <= 1, "no retry reached the backend after the deadline passed"
    stuck.release.set()


def test_failures_open_the_breaker_and_then_calls_are_refused_at_once() -> None:
    guard = BackendGuard("neo4j", policy(retries=0, failure_threshold=3))
    flaky = Flaky(100, ConnectionError("refused"))
    for _ in range(3):
        with pytest.raises(ConnectionError):
            guard.call("query", flaky)
    assert guard.breaker.state is State.OPEN
    with pytest.raises(CircuitOpen):
        guard.call("query", flaky)
    assert flaky.calls == 3  # The refused call never reached the backend.


def test_caller_mistakes_do_not_count_against_the_backend() -> None:
    guard = BackendGuard("neo4j", policy(retries=0, failure_threshold=1))
    with pytest.raises(ValueError):
        guard.call("query", Flaky(1, ValueError("bad id")))
    assert guard.breaker.state is State.CLOSED


def test_a_frozen_backend_fills_the_workers_and_later_calls_are_refused_without_waiting() -> None:
    guard = BackendGuard("milvus", policy(timeout=0.2, retries=0, failure_threshold=100), workers=2)
    stuck = Stuck()
    for _ in range(2):
        with pytest.raises(BackendTimeout):
            guard.call("search", stuck)
    with pytest.raises(BackendBusy):
        guard.call("search", stuck)
    # Refused without waiting: while both workers were still stuck, and without being queued behind them.
    assert stuck.ended == 0
    stuck.release.set()
    deadline = time.monotonic() + 60  # A deadline for the workers to come back, not a speed.
    while True:
        try:
            assert guard.call("search", lambda: "back") == "back"
            break
        except BackendBusy:
            assert time.monotonic() < deadline, "the released workers never took calls again"
            time.sleep(0.01)
    assert stuck.started == 2, "the refused call never ran"


def test_attempt_records_success_failure_and_gives_back_on_cancel() -> None:
    guard = BackendGuard("llm", policy(failure_threshold=1, reset_timeout=60.0))
    with guard.attempt("stream"):
        pass
    assert guard.breaker.state is State.CLOSED
    with pytest.raises(GeneratorExit), guard.attempt("stream"):
        raise GeneratorExit
    assert guard.breaker.state is State.CLOSED
    with pytest.raises(httpx.ReadTimeout), guard.attempt("stream"):
        raise httpx.ReadTimeout("no answer")
    assert guard.breaker.state is State.OPEN
    with pytest.raises(CircuitOpen), guard.attempt("stream"):
        pytest.fail("an open breaker must not let the block run")


class Adapter:
    opened = 0

    def __init__(self) -> None:
        self.dimensions = 384

    def search(self, k: int) -> list[int]:
        return list(range(k))

    def close(self) -> None:
        self.closed = True


def test_guarded_proxy_routes_method_calls_through_the_guard() -> None:
    guard = BackendGuard("milvus", policy(retries=0, failure_threshold=1))
    adapter = Adapter()
    proxy = Guarded(adapter, guard, plain=("dimensions",))
    assert proxy.search(3) == [0, 1, 2]
    assert proxy.dimensions == 384
    guard.breaker.on_failure(ConnectionError("down"))
    with pytest.raises(CircuitOpen):
        proxy.search(3)
    proxy.close()  # close is never refused, so shutting down always works.
    assert adapter.closed


def test_a_hurried_caller_does_not_judge_the_backend_but_an_overdue_call_does() -> None:
    guard = BackendGuard("milvus", policy(timeout=0.3, retries=0, failure_threshold=2), workers=2)
    release = threading.Event()
    for _ in range(2):
        with within(0.05), pytest.raises(BackendTimeout):
            guard.call("search", release.wait, 10)
    with within(0.05), pytest.raises(BackendBusy):
        guard.call("search", release.wait, 10)
    assert guard.breaker.state is State.CLOSED  # Hurried callers and a full house say nothing yet...
    time.sleep(0.3)
    with pytest.raises(CircuitOpen):  # ...but calls still running past the backend's own timeout do.
        guard.call("search", release.wait, 10)
    assert guard.breaker.state is State.OPEN
    assert "did not answer search within 0.3 s" in str(guard.breaker.last_error)
    release.set()


def test_a_call_that_ends_after_its_caller_gave_up_is_judged_by_its_own_outcome() -> None:
    guard = BackendGuard("neo4j", policy(timeout=5.0, retries=0, failure_threshold=1))
    release = threading.Event()

    def fails_late() -> None:
        release.wait(5)
        raise ConnectionError("dropped")

    with within(0.05), pytest.raises(BackendTimeout):
        guard.call("query", fails_late)
    assert guard.breaker.state is State.CLOSED
    release.set()
    deadline = time.monotonic() + 60  # A deadline for the late verdict, not a speed.
    while guard.breaker.state is not State.OPEN and time.monotonic() < deadline:
        time.sleep(0.01)
    assert guard.breaker.state is State.OPEN, "the call's own failure, after its caller gave up, never counted"


def test_opening_a_backend_has_a_budget_of_its_own() -> None:
    """A schema migration on first use may take longer than one call's timeout; the call after it still
    gets its whole timeout."""
    from localmind.stores.deferred import Deferred

    class Slow:
        def ping(self) -> str:
            return "pong"

    def open_slowly() -> Slow:
        time.sleep(1.0)
        return Slow()

    guard = BackendGuard("slow-open", BackendPolicy(timeout=0.5, open_timeout=30, retries=0))
    try:
        backend = Guarded(Deferred("slow", open_slowly), guard)
        assert backend.ping() == "pong"
        short = BackendGuard("short-open", BackendPolicy(timeout=0.5, open_timeout=0.2, retries=0))
        with pytest.raises(BackendTimeout):
            Guarded(Deferred("slow", open_slowly), short).ping()
        short.close()
    finally:
        guard.close()
