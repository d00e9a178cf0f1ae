"""Every transition of the circuit breaker, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from localmind.config import BackendPolicy
from localmind.resilience import CircuitBreaker, CircuitOpen, State, Transition


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **policy: float) -> CircuitBreaker:
    values = {"failure_threshold": 3, "failure_rate": 0.5, "window": 10, "reset_timeout": 5.0, "half_open_calls": 1}
    return CircuitBreaker("neo4j", BackendPolicy(**(values | policy)), clock=clock, wall_clock=clock)


def fail(b: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        b.before_call()
        b.on_failure(ConnectionError("refused"))


def succeed(b: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        b.before_call()
        b.on_success()


def test_closed_lets_calls_through_and_successes_reset_the_count() -> None:
    b = breaker(Clock())
    fail(b, 2)
    succeed(b)
    fail(b, 2)
    assert b.state is State.CLOSED


def test_consecutive_failures_open_it() -> None:
    b = breaker(Clock())
    fail(b, 3)
    assert b.state is State.OPEN
    assert b.last_error == "ConnectionError: refused"


def test_failure_rate_over_a_full_window_opens_it() -> None:
    b = breaker(Clock(), failure_threshold=100, window=10, failure_rate=0.5)
    for _ in range(5):  # Alternating: never 2 in a row, but half of the window fails.
        succeed(b)
        fail(b)
    assert b.state is State.OPEN


def test_failure_rate_waits_for_a_full_window() -> None:
    b = breaker(Clock(), failure_threshold=100, window=10, failure_rate=0.5)
    for _ in range(4):
        succeed(b)
        fail(b)
    assert b.state is State.CLOSED  # 4 of 8: the window is not full yet.
    succeed(b, 2)
    assert b.state is State.CLOSED  # 4 of 10 < 50 %.


def test_open_rejects_at_once_with_the_seconds_to_wait() -> None:
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 2
    with pytest.raises(CircuitOpen) as raised:
        b.before_call()
    assert raised.value.backend == "neo4j"
    assert raised.value.retry_after == pytest.approx(3.0)
    assert "circuit open" in str(raised.value) and "refused" in str(raised.value)


def test_half_open_after_the_cool_down_and_a_success_closes() -> None:
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 5
    assert b.state is State.HALF_OPEN
    succeed(b)
    assert b.state is State.CLOSED
    assert b.last_error is None


def test_a_failed_trial_opens_again_for_a_full_cool_down() -> None:
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 5
    fail(b)
    assert b.state is State.OPEN
    clock.now += 4.9
    assert b.state is State.OPEN
    clock.now += 0.1
    assert b.state is State.HALF_OPEN


def test_half_open_lets_only_the_configured_number_of_trials_through() -> None:
    clock = Clock()
    b = breaker(clock, half_open_calls=2)
    fail(b, 3)
    clock.now += 5
    b.before_call()
    b.before_call()
    with pytest.raises(CircuitOpen, match="trial call is in progress"):
        b.before_call()
    b.on_abandon()  # One trial never reached the backend: its slot is free again.
    b.before_call()


def test_listeners_hear_every_change_once() -> None:
    clock = Clock()
    b = breaker(clock)
    heard: list[Transition] = []
    b.listeners.append(heard.append)
    b.before_call()  # A call that started while it was closed...
    fail(b, 3)
    b.on_failure(TimeoutError("slow"))  # ...and fails after it opened: no second "open".
    clock.now += 5
    succeed(b)
    assert [(t.old, t.new) for t in heard] == [
        (State.CLOSED, State.OPEN),
        (State.OPEN, State.HALF_OPEN),
        (State.HALF_OPEN, State.CLOSED),
    ]
    assert heard[0].at == 1000.0 and heard[1].at == 1005.0


def test_a_failing_listener_does_not_break_calls() -> None:
    b = breaker(Clock())

    def broken(_: Transition) -> None:
        raise RuntimeError("listener bug")

    b.listeners.append(broken)
    fail(b, 3)
    assert b.state is State.OPEN


def test_concurrent_threads_keep_the_counts_consistent() -> None:
    clock = Clock()
    b = breaker(clock, failure_threshold=1000, window=10_000, failure_rate=1.0)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(500):
            b.before_call()
            b.on_success()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert b.state is State.CLOSED
    fail(b, 1)
    assert b.state is State.CLOSED
