"""`localmind verify`: compare the local manifest (the truth) with each server backend, file by file and
chunk by chunk, and repair drift through the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from localmind.stores.ports import FileSink
from localmind.stores.replication import Replicator
from localmind.stores.sqlite_store import SqliteStore


class Inventoried(FileSink, Protocol):
    def file_inventory(self) -> dict[str, set[str]]: ...


@dataclass
class Drift:
    files: int = 0
    missing: list[str] = field(default_factory=list)  # In the manifest, not in the backend.
    extra: list[str] = field(default_factory=list)  # In the backend, not in the manifest.
    mismatched: list[str] = field(default_factory=list)  # In both, with other chunk ids.
    pending: int = 0  # Outbox entries not yet applied (drift that is already on its way).

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.mismatched)

    def to_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "missing": sorted(self.missing),
            "extra": sorted(self.extra),
            "mismatched": sorted(self.mismatched),
            "pending": self.pending,
            "clean": self.clean,
        }


def compare(truth: dict[str, set[str]], backend: dict[str, set[str]]) -> Drift:
    both = truth.keys() & backend.keys()
    return Drift(
        files=len(backend),
        missing=sorted(truth.keys() - backend.keys()),
        extra=sorted(backend.keys() - truth.keys()),
        mismatched=sorted(f for f in both if truth[f] != backend[f]),
    )


def verify(store: SqliteStore, backends: dict[str, Inventoried], repair: bool) -> dict[str, Drift]:
    """Each backend's drift; with repair, the drifted files are re-sent (or deleted) and checked again."""
    truth = store.manifest_inventory()
    drifts = {name: _drift(store, truth, backend, name) for name, backend in backends.items()}
    if not repair or all(d.clean and not d.pending for d in drifts.values()):
        return drifts
    for name, drift in drifts.items():
        for file_id in drift.missing + drift.mismatched:
            store.enqueue(name, file_id, "write")
        for file_id in drift.extra:
            store.enqueue(name, file_id, "delete")
    Replicator(store, dict(backends)).drain()
    return {name: _drift(store, truth, backend, name) for name, backend in backends.items()}


def _drift(store: SqliteStore, truth: dict[str, set[str]], backend: Inventoried, name: str) -> Drift:
    drift = compare(truth, backend.file_inventory())
    drift.pending = store.outbox_counts().get(name, 0)
    return drift
