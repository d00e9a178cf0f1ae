"""A circuit breaker per backend: CLOSED → OPEN → HALF_OPEN → CLOSED.

Written here rather than taken from a library: pybreaker counts only consecutive failures, lets one
trial call through when half-open and supports asyncio only through Tornado; aiobreaker is asyncio-only.
Local Mind calls the same backend from the event loop (checks that must not block), from the reader
thread and from the indexing thread, and needs a failure-rate window, several half-open trials and an
injectable clock for tests. The state lives behind one `threading.Lock` held for a few instructions,
never across a call, so the event loop never waits on it.

- CLOSED: calls go through. `failure_threshold` consecutive failures, or a failure share of at least
  `failure_rate` over the last `window` calls (once the window is full), open the breaker.
- OPEN: calls are rejected at once with `CircuitOpen` (carrying seconds until the next trial), until
  `reset_timeout` has passed since it opened.
- HALF_OPEN: at most `half_open_calls` trial calls are let through at a time; one success closes the
  breaker, one failure opens it again for another `reset_timeout`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from localmind.config import BackendPolicy
from localmind.resilience.errors import CircuitOpen

log = logging.getLogger(__name__)


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Transition:
    backend: str
    old: State
    new: State
    reason: str
    at: float  # Wall-clock time (time.time()) of the change.


Listener = Callable[[Transition], None]


class CircuitBreaker:
    def __init__(
        self,
        backend: str,
        policy: BackendPolicy,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.policy = policy
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._state = State.CLOSED
        self._opened_at = 0.0
        self._since = wall_clock()
        self._consecutive = 0
        self._outcomes: deque[bool] = deque(maxlen=policy.window)  # True for a failure.
        self._trials = 0
        self.last_error: str | None = None
        self.listeners: list[Listener] = []

    # What the breaker is doing ------------------------------------------------------------------------

    @property
    def state(self) -> State:
        with self._lock:
            self._cool_down_locked()
            return self._state

    @property
    def since(self) -> float:
        """Wall-clock time of the last state change."""
        return self._since

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it is not open)."""
        with self._lock:
            if self._state is not State.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.policy.reset_timeout - self._clock())

    # Calls --------------------------------------------------------------------------------------------

    def before_call(self) -> None:
        """Take a permit for one call, or raise CircuitOpen. Every permit must end in on_success or
        on_failure (or on_abandon, for a call that never reached the backend)."""
        transition = None
        with self._lock:
            transition = self._cool_down_locked()
            if self._state is State.OPEN:
                wait = max(0.0, self._opened_at + self.policy.reset_timeout - self._clock())
                error = self._open_error(wait)
            elif self._state is State.HALF_OPEN and self._trials >= self.policy.half_open_calls:
                error = self._open_error(0.0, trial_running=True)
            else:
                error = None
                if self._state is State.HALF_OPEN:
                    self._trials += 1
        self._announce(transition)
        if error is not None:
            raise error

    def on_success(self) -> None:
        transition = None
        with self._lock:
            self._consecutive = 0
            self._outcomes.append(False)
            if self._state is State.HALF_OPEN:
                self._trials = max(0, self._trials - 1)
                self._outcomes.clear()
                transition = self._move_locked(State.CLOSED, "a trial call succeeded")
        self._announce(transition)

    def on_failure(self, error: BaseException) -> None:
        transition = None
        with self._lock:
            self.last_error = f"{type(error).__name__}: {error}"
            self._consecutive += 1
            self._outcomes.append(True)
            if self._state is State.HALF_OPEN:
                self._trials = max(0, self._trials - 1)
                transition = self._open_locked("the trial call failed")
            elif self._state is State.CLOSED:
                reason = self._trip_reason_locked()
                if reason is not None:
                    transition = self._open_locked(reason)
        self._announce(transition)

    def on_abandon(self) -> None:
        """Give back a permit whose call never reached the backend (cancelled before it started)."""
        with self._lock:
            if self._state is State.HALF_OPEN:
                self._trials = max(0, self._trials - 1)

    # Internals (the lock is held) --------------------------------------------------------------------

    def _trip_reason_locked(self) -> str | None:
        if self._consecutive >= self.policy.failure_threshold:
            return f"{self._consecutive} consecutive failures"
        if len(self._outcomes) == self._outcomes.maxlen:
            failures = sum(self._outcomes)
            if failures / len(self._outcomes) >= self.policy.failure_rate:
                return f"{failures} of the last {len(self._outcomes)} calls failed"
        return None

    def _open_locked(self, reason: str) -> Transition | None:
        self._opened_at = self._clock()
        return self._move_locked(State.OPEN, reason)

    def _cool_down_locked(self) -> Transition | None:
        if self._state is State.OPEN and self._clock() - self._opened_at >= self.policy.reset_timeout:
            self._trials = 0
            return self._move_locked(State.HALF_OPEN, f"{self.policy.reset_timeout:g} s cool-down ended")
        return None

    def _move_locked(self, new: State, reason: str) -> Transition | None:
        old = self._state
        if old is new:
            return None
        self._state = new
        self._since = self._wall_clock()
        if new is State.CLOSED:
            self._consecutive = 0
            self.last_error = None
        return Transition(self.backend, old, new, reason, self._since)

    def _open_error(self, wait: float, trial_running: bool = False) -> CircuitOpen:
        why = "a trial call is in progress" if trial_running else f"next trial in {wait:.1f} s"
        last = f" (last error: {self.last_error})" if self.last_error else ""
        return CircuitOpen(self.backend, f"{self.backend} is unavailable: circuit open, {why}{last}", wait)

    def _announce(self, transition: Transition | None) -> None:
        """Log and tell the listeners about a change, outside the lock."""
        if transition is None:
            return
        level = logging.INFO if transition.new is State.CLOSED else logging.WARNING
        log.log(
            level, "%s breaker %s → %s: %s", self.backend, transition.old.value, transition.new.value, transition.reason
        )
        for listener in list(self.listeners):
            try:
                listener(transition)
            except Exception:  # A listener's bug must never break a backend call.
                log.exception("breaker listener failed")
