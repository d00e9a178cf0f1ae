"""Which failures are worth retrying, and retries with exponential backoff and jitter (tenacity),
never past the caller's deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from localmind.config import BackendPolicy
from localmind.resilience.errors import BackendTimeout, BackendUnavailable

T = TypeVar("T")

# HTTP statuses that say "try again": request timeout, too many requests, and the gateway family.
TRANSIENT_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Words in a driver's error that mark a passing condition (gRPC and Bolt name them this way).
_TRANSIENT_WORDS = (
    "unavailable",
    "deadline_exceeded",
    "deadline exceeded",
    "timed out",
    "timeout",
    "connection refused",
)


def is_transient(error: BaseException) -> bool:
    """True for a failure that may pass by itself (a timeout, a refused or dropped connection, a busy
    server); False for one that will not (bad credentials, a bad query, a bug) and for an open breaker,
    which already says when to come back."""
    if isinstance(error, BackendUnavailable):
        return False
    if getattr(error, "transient", None) is not None:  # An adapter that knows says so.
        return bool(error.transient)  # type: ignore[attr-defined]
    if isinstance(error, BackendTimeout | TimeoutError | ConnectionError):
        return True
    status = _http_status(error)
    if status is not None:
        return status in TRANSIENT_HTTP_STATUSES
    if _is_httpx_transport_error(error):
        return True
    retryable = getattr(error, "is_retryable", None)  # Neo4j's driver marks its own.
    if callable(retryable):
        try:
            return bool(retryable())
        except Exception:
            return False
    text = str(error).lower()
    return any(word in text for word in _TRANSIENT_WORDS)


def _http_status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_httpx_transport_error(error: BaseException) -> bool:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency.
        return False
    return isinstance(error, httpx.TransportError)


def retrying_call(
    attempt: Callable[[], T],
    policy: BackendPolicy,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `attempt` until it succeeds, fails for good, runs out of retries, or the next wait would
    end past `deadline` (a clock() time); the last error is raised as it was."""

    retrying = tenacity.Retrying(
        stop=tenacity.stop_any(tenacity.stop_after_attempt(policy.retries + 1), _WaitPassesDeadline(deadline, clock)),
        wait=tenacity.wait_exponential_jitter(
            multiplier=policy.backoff, max=max(policy.backoff, 2.0), jitter=policy.backoff
        ),
        retry=tenacity.retry_if_exception(is_transient),
        sleep=sleep,
        reraise=True,
    )
    return retrying(attempt)


class _WaitPassesDeadline(tenacity.stop.stop_base):
    """Stop when the wait before the next attempt would end at or past the deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        return self.clock() + upcoming >= self.deadline
