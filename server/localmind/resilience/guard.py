"""Every call to a backend goes through its BackendGuard: circuit breaker, timeout, retries, metrics.

A backend call is blocking (the Neo4j and Milvus drivers, ONNX Runtime, httpx), so the guard runs it
on the backend's own small thread pool and waits at most until the deadline: the earlier of the
policy's timeout and the caller's deadline (`deadline.within`). A call that misses it is counted as a
failure and left to finish on its worker; when every worker is still stuck on earlier calls (a frozen
server), the next call is refused at once instead of queueing, so waiting never piles up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from localmind.config import BackendPolicy
from localmind.observability import metrics
from localmind.observability.context import carry
from localmind.resilience.breaker import CircuitBreaker, Transition
from localmind.resilience.deadline import current_deadline
from localmind.resilience.errors import BackendBusy, BackendTimeout, BackendUnavailable
from localmind.resilience.retry import retrying_call

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# Workers per backend: calls in flight at once, stuck ones included.
DEFAULT_WORKERS = 4


def counts_against_backend(error: BaseException) -> bool:
    """A failure that says something about the backend's health. A refusal by the breaker itself, or a
    caller's mistake (bad arguments: ValueError, TypeError, KeyError), does not."""
    return not isinstance(error, BackendUnavailable | ValueError | TypeError | KeyError | AttributeError)


class BackendGuard:
    def __init__(self, name: str, policy: BackendPolicy, workers: int = DEFAULT_WORKERS) -> None:
        self.name = name
        self.policy = policy
        self.breaker = CircuitBreaker(name, policy)
        self.breaker.listeners.append(_record_transition)
        metrics.breaker_state(name, self.breaker.state.value)
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._in_flight: set[_Call] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"localmind-{name}")

    # Blocking calls ---------------------------------------------------------------------------------------

    def call(self, operation: str, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """work(*args, **kwargs) with the breaker, the timeout and retries of transient failures."""
        deadline = self._deadline(self.policy.timeout)
        return retrying_call(lambda: self._attempt(operation, deadline, work, *args, **kwargs), self.policy, deadline)

    def open(self, work: Callable[[], T]) -> T:
        """Open the backend (connect, migrate its schema) within the policy's open_timeout: a budget of its
        own, so a first write never shares its timeout with a schema migration."""
        deadline = self._deadline(self.policy.open_timeout)
        return retrying_call(lambda: self._attempt("open", deadline, work), self.policy, deadline)

    def _deadline(self, seconds: float) -> float:
        ends = time.monotonic() + seconds
        caller = current_deadline()
        return ends if caller is None else min(ends, caller)

    def _attempt(self, operation: str, deadline: float, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackendTimeout(self.name, operation, 0.0)
        self._judge_overdue()
        self.breaker.before_call()
        if not self._slots.acquire(blocking=False):
            self.breaker.on_abandon()
            metrics.backend_call(self.name, operation, 0.0, "BackendBusy")
            raise BackendBusy(self.name, f"{self.name} is unavailable: every worker waits on an earlier call")
        call = _Call(operation, time.monotonic())
        future = self._submit(work, *args, **kwargs)
        with self._lock:
            self._in_flight.add(call)
        future.add_done_callback(lambda done: self._judge(call, _outcome(done)))
        try:
            result = future.result(timeout=remaining)
        except FutureTimeout:
            error = BackendTimeout(self.name, operation, remaining)
            if remaining >= self.policy.timeout * 0.999:  # The backend's own timeout has passed: a failure.
                self._judge(call, error)
            raise error from None
        except BaseException as exc:
            self._judge(call, exc)
            raise
        self._judge(call, None)
        return result

    def _judge(self, call: _Call, error: BaseException | None) -> None:
        """The verdict on one call, given once: by the caller that saw it end, by the worker when the
        caller gave up first (a hover's tight deadline says the caller is in a hurry, not that the backend
        is down, so the call's own end decides), or by _judge_overdue when it outlives the timeout."""
        with self._lock:
            if call.judged:
                return
            call.judged = True
            self._in_flight.discard(call)
        seconds = time.monotonic() - call.started
        if error is None and seconds > self.policy.timeout:
            error = BackendTimeout(self.name, call.operation, self.policy.timeout)
        self._finish(call.operation, seconds, error)

    def _judge_overdue(self) -> None:
        """Calls still running past the backend's timeout (a frozen server) count as failed now."""
        now = time.monotonic()
        with self._lock:
            overdue = [call for call in self._in_flight if now - call.started > self.policy.timeout]
        for call in overdue:
            self._judge(call, BackendTimeout(self.name, call.operation, self.policy.timeout))

    def _submit(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        def run() -> T:
            try:
                return work(*args, **kwargs)
            finally:
                self._slots.release()

        try:
            return self._pool.submit(carry(run))
        except RuntimeError:  # The pool was shut down: the process is closing.
            self._slots.release()
            raise

    def _finish(self, operation: str, seconds: float, error: BaseException | None) -> None:
        if error is None:
            self.breaker.on_success()
        elif counts_against_backend(error):
            self.breaker.on_failure(error)
        else:
            self.breaker.on_abandon()
        metrics.backend_call(self.name, operation, seconds, None if error is None else type(error).__name__)

    # Calls the caller runs itself (streaming) -------------------------------------------------------------

    @contextmanager
    def attempt(self, operation: str = "call") -> Iterator[None]:
        """For work that must run on the caller's thread (an LLM stream read piece by piece): raises
        CircuitOpen at once when the breaker is open; on exit records a success, or a failure when an
        exception escapes (cancellation and GeneratorExit give the permit back without a verdict)."""
        self.breaker.before_call()
        started = time.monotonic()
        try:
            yield
        except (GeneratorExit, KeyboardInterrupt):
            self.breaker.on_abandon()
            raise
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                self.breaker.on_abandon()
            else:
                self._finish(operation, time.monotonic() - started, exc)
            raise
        else:
            self._finish(operation, time.monotonic() - started, None)

    # Status -----------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        breaker = self.breaker
        return {
            "state": breaker.state.value,
            "since": breaker.since,
            "retry_after": round(breaker.retry_after(), 3),
            "last_error": breaker.last_error,
        }

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(eq=False)
class _Call:
    operation: str
    started: float
    judged: bool = False


def _outcome(future: Future[Any]) -> BaseException | None:
    return None if future.cancelled() else future.exception()


def _record_transition(transition: Transition) -> None:
    metrics.breaker_state(transition.backend, transition.new.value)


class Guarded:
    """A backend adapter whose every public method call goes through a guard. The attribute is looked
    up inside the guarded call, so a lazily opened adapter (stores.deferred) connects under the
    guard's timeout too."""

    def __init__(self, target: Any, guard: BackendGuard, plain: tuple[str, ...] = ()) -> None:
        """`plain` names attributes read straight from the target (plain values, not calls)."""
        self._target = target
        self._guard = guard
        self._plain = frozenset(plain)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "close" or name in self._plain:
            return getattr(self._target, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._target, "needs_opening", False):  # A backend opened on first use (stores.deferred).
                self._guard.open(self._target.open)
            return self._guard.call(name, lambda: getattr(self._target, name)(*args, **kwargs))

        return call

    def __repr__(self) -> str:
        return f"Guarded({self._target!r})"


class Attempted(Guarded):
    """Like Guarded, but each call runs on the caller's own thread inside `guard.attempt()`: breaker and
    metrics without a thread hop, for work whose thread matters (the indexing thread's niced ONNX
    session) and that cannot be interrupted anyway."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attribute = getattr(self._target, name)
        if name == "close" or name in self._plain or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._guard.attempt(name):
                return attribute(*args, **kwargs)

        return call
