"""What `localmind.status` reports about a workspace: index counts, indexing progress, each backend's
health and one line for a status bar. Plain functions over plain values, so they are tested without threads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localmind.config import Settings
from localmind.indexing.pipeline import Progress
from localmind.resilience import State
from localmind.stores.replication import DrainReport

# The guard that protects each role's backend.
GUARD_OF_ROLE = {"graph": "neo4j", "vectors": "milvus", "embedder": "embedder", "llm": "llm"}


@dataclass
class IndexState:
    """What the status command and the clients show about indexing."""

    running: bool = False
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    runs: int = 0
    last_report: dict[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    finished_at: float | None = None
    last_drain: DrainReport | None = None
    phase: str = "indexing"  # The running pass's phase: "indexing" (files) or "embedding" (chunks).
    embedded: int = 0
    to_embed: int = 0

    def observe(self, event: Progress) -> None:
        """Take in a progress event of the running pass."""
        self.phase, self.chunks = event.phase, event.chunks
        if event.phase == "embedding":
            self.embedded, self.to_embed = event.embedded, event.to_embed
        else:
            self.files_done, self.files_total = event.files_done, event.files_total
            self.embedded = self.to_embed = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "files_done": self.files_done,
            "files_total": self.files_total,
            "chunks": self.chunks,
            "runs": self.runs,
            "phase": self.phase,
            "embedded": self.embedded,
            "to_embed": self.to_embed,
            "last_report": self.last_report,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Observed:
    """What the reader thread saw when the status was asked for."""

    stats: dict[str, object]
    pending: dict[str, int]  # Outbox rows waiting, by backend.
    unavailable: dict[str, tuple[str, float]]  # Signals search left out: role → (error, since).
    breakers: dict[str, dict[str, Any]]


def backends_status(settings: Settings, state: IndexState, seen: Observed) -> dict[str, dict[str, Any]]:
    """Each backend's kind and state. A backend is degraded while its breaker is not closed, while search
    leaves out its signal, or while its outbox could not be delivered."""
    llm = "openai-compatible" if settings.llm.base_url else "none (extractive answers)"
    status: dict[str, dict[str, Any]] = {
        "graph": {"backend": settings.graph.backend, "state": "ok"},
        "vectors": {"backend": settings.vectors.backend, "state": "ok"},
        "embedder": {"backend": "onnxruntime", "state": "ok"},
        "llm": {"backend": llm, "state": "ok"},
    }
    drain = state.last_drain
    for role, name in GUARD_OF_ROLE.items():
        entry = status[role]
        if role in ("graph", "vectors"):
            if entry["backend"] != name:
                continue
            entry["pending"] = seen.pending.get(name, 0)
        breaker = seen.breakers.get(name)
        if breaker is not None and breaker["state"] != State.CLOSED:
            _mark_degraded(entry, breaker["since"], breaker["last_error"], breaker["state"])
        elif role in seen.unavailable:
            error, since = seen.unavailable[role]
            _mark_degraded(entry, since, error)
        elif drain is not None and name in drain.failed and entry.get("pending"):
            _mark_degraded(entry, state.finished_at or time.time(), drain.failed[name])
    return status


def summary(backends: dict[str, dict[str, Any]], state: IndexState, stats: dict[str, object]) -> str:
    """One line for a status bar: degraded (which backend, since when), indexing (how far), or ready."""
    degraded = [
        f"{role} unavailable since {time.strftime('%H:%M', time.localtime(entry['since_epoch']))}"
        for role, entry in backends.items()
        if entry["state"] == "degraded"
    ]
    if degraded:
        return "degraded: " + ", ".join(degraded)
    if state.running and state.phase == "embedding":
        percent = int(100 * state.embedded / state.to_embed) if state.to_embed else 0
        return f"searchable; embedding {percent}%"
    if state.running:
        percent = int(100 * state.files_done / state.files_total) if state.files_total else 0
        return f"indexing {percent}%"
    return f"ready: {stats.get('chunks', 0)} chunks"


def is_degraded(backends: dict[str, dict[str, Any]]) -> bool:
    return any(entry["state"] == "degraded" for entry in backends.values())


def role_of_guard(backend: str) -> str | None:
    """The role whose backend a guard protects ("neo4j" → "graph")."""
    return next((role for role, name in GUARD_OF_ROLE.items() if name == backend), None)


def _mark_degraded(entry: dict[str, Any], since: float, error: str | None, breaker: str | None = None) -> None:
    entry.update(
        state="degraded",
        since=datetime.fromtimestamp(since).astimezone().isoformat(timespec="seconds"),
        since_epoch=since,
        error=error,
    )
    if breaker is not None:
        entry["breaker"] = breaker
