"""A server backend that is opened on first use, and opened again after a failed attempt.

Local Mind must start, index and answer while Neo4j or Milvus is down: writes then stay in the outbox
and searches do without that signal. Until the server answers, every call fails with the opening
error (which the caller records); the first call after it returns opens the real adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Deferred:
    def __init__(self, name: str, opener: Callable[[], Any]) -> None:
        self.name = name
        self._opener = opener
        self._backend: Any = None
        self._lock = threading.Lock()

    @property
    def needs_opening(self) -> bool:
        """Whether the next call opens the backend (a guard gives that its own time budget)."""
        return self._backend is None

    def open(self) -> None:
        """Open the backend now, unless it is open."""
        self._get()

    def _get(self) -> Any:
        with self._lock:
            if self._backend is None:
                self._backend = self._opener()
            return self._backend

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self._get(), attribute)

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def __repr__(self) -> str:
        state = "open" if self._backend is not None else "not open"
        return f"Deferred({self.name}, {state})"
