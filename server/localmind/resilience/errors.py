"""Errors of the resilience layer: a backend that is not called (breaker open, too busy) or too slow."""

from __future__ import annotations

from localmind.errors import LocalMindError


class BackendUnavailable(LocalMindError):
    """The backend was not called: its circuit breaker is open, or it is too busy to take another call."""

    def __init__(self, backend: str, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.backend = backend
        self.retry_after = retry_after


class CircuitOpen(BackendUnavailable):
    """Recent calls to the backend failed; it is left alone until its cool-down ends."""


class BackendBusy(BackendUnavailable):
    """Every worker of the backend is still waiting on an earlier call (a stuck or frozen server)."""


class BackendTimeout(LocalMindError, TimeoutError):
    """A backend call did not finish within its deadline; the caller went on without it."""

    def __init__(self, backend: str, operation: str, seconds: float) -> None:
        super().__init__(f"{backend} did not answer {operation} within {seconds:.3g} s")
        self.backend = backend
        self.operation = operation
        self.seconds = seconds
