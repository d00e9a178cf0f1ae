"""The resilience layer: every backend call timed out, retried when worth it and guarded by a circuit
breaker; the language server's requests rate-limited. See docs/resilience.md for the degradation matrix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localmind.config import ResilienceSettings
from localmind.resilience.breaker import CircuitBreaker, State, Transition
from localmind.resilience.deadline import current_deadline, within
from localmind.resilience.errors import BackendBusy, BackendTimeout, BackendUnavailable, CircuitOpen
from localmind.resilience.guard import Attempted, BackendGuard, Guarded
from localmind.resilience.limiter import RateLimiter, TokenBucket, Verdict
from localmind.resilience.retry import is_transient

BACKENDS = ("neo4j", "milvus", "llm", "embedder")

__all__ = [
    "BACKENDS",
    "Attempted",
    "BackendBusy",
    "BackendGuard",
    "BackendTimeout",
    "BackendUnavailable",
    "CircuitBreaker",
    "CircuitOpen",
    "Guarded",
    "RateLimiter",
    "Resilience",
    "State",
    "TokenBucket",
    "Transition",
    "Verdict",
    "current_deadline",
    "is_transient",
    "within",
]


class Resilience:
    """The guards of one workspace service, one per backend, made on first use."""

    def __init__(self, settings: ResilienceSettings) -> None:
        self.settings = settings
        self._guards: dict[str, BackendGuard] = {}
        # Told of every breaker's state changes, whichever guard it belongs to.
        self.listeners: list[Callable[[Transition], None]] = []

    def guard(self, backend: str) -> BackendGuard:
        if backend not in BACKENDS:
            raise ValueError(f"no resilience policy for backend {backend!r}; known: {', '.join(BACKENDS)}")
        if backend not in self._guards:
            guard = BackendGuard(backend, getattr(self.settings, backend))
            guard.breaker.listeners.append(self._tell)
            self._guards[backend] = guard
        return self._guards[backend]

    def _tell(self, transition: Transition) -> None:
        for listener in list(self.listeners):
            listener(transition)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each guard in use: its breaker's state, since when, and the last error."""
        return {name: guard.snapshot() for name, guard in sorted(self._guards.items())}

    def close(self) -> None:
        for guard in self._guards.values():
            guard.close()
