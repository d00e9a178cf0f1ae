"""`localmind verify`: compare the local manifest (the truth) with each server backend, file by file and
chunk by chunk, and repair drift through the outbox.

What is compared. Each backend's inventory (file id → chunk ids) of this workspace against the manifest;
Neo4j's chunk, symbol and section nodes whose File is gone (orphans); and the team embedding cache's vectors
for the texts this store holds against this store's own.

What a repair does. Missing and mismatched files are re-sent and extra ones deleted, through the outbox,
orphans are deleted, cache entries that differ are replaced by this store's vectors and expired ones
dropped; then everything is read again — Milvus with Strong consistency, so the repair's own writes are
seen — and that second reading is the verdict. In a workspace shared by a team (`team.shared_workspace`)
files this store does not know may be a teammate's: they are reported, never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from localmind.stores.ports import EmbeddingCache, ReplicaSink
from localmind.stores.replication import Replicator
from localmind.stores.sqlite_store import SqliteStore

Inventory = dict[str, set[str]]


def _no_orphans() -> dict[str, int]:
    return {}


def _delete_nothing() -> int:
    return 0


@dataclass
class Audited:
    """A backend as verify sees it: where repairs go, how to read its inventory (strongly, after a repair),
    and, for a graph, its orphan nodes."""

    sink: ReplicaSink
    inventory: Callable[[bool], Inventory]  # Called with strong=True after a repair.
    orphans: Callable[[], dict[str, int]] = _no_orphans
    delete_orphans: Callable[[], int] = _delete_nothing


@dataclass
class Drift:
    files: int = 0
    missing: list[str] = field(default_factory=list)  # In the manifest, not in the backend.
    extra: list[str] = field(default_factory=list)  # In the backend, not in the manifest.
    mismatched: list[str] = field(default_factory=list)  # In both, with other chunk ids.
    orphans: dict[str, int] = field(default_factory=dict)  # Graph nodes by label whose File is gone.
    pending: int = 0  # Outbox entries not yet applied (drift that is already on its way).
    extra_kept: bool = False  # A shared workspace: extra files may be a teammate's, so they count as clean.

    @property
    def clean(self) -> bool:
        extra = bool(self.extra) and not self.extra_kept
        return not (self.missing or extra or self.mismatched or any(self.orphans.values()))

    def to_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "missing": sorted(self.missing),
            "extra": sorted(self.extra),
            "mismatched": sorted(self.mismatched),
            "orphans": dict(self.orphans),
            "pending": self.pending,
            "clean": self.clean,
        }


@dataclass
class Verdict:
    """One backend's drift as found, what the repair did, and the drift read again after it."""

    found: Drift
    fixed: dict[str, int] = field(default_factory=dict)
    after: Drift | None = None

    @property
    def final(self) -> Drift:
        return self.after or self.found

    def to_json(self) -> dict[str, object]:
        result: dict[str, object] = {**self.final.to_json(), "found": self.found.to_json(), "fixed": self.fixed}
        return result


def compare(truth: Inventory, backend: Inventory) -> Drift:
    both = truth.keys() & backend.keys()
    return Drift(
        files=len(backend),
        missing=sorted(truth.keys() - backend.keys()),
        extra=sorted(backend.keys() - truth.keys()),
        mismatched=sorted(f for f in both if truth[f] != backend[f]),
    )


def verify(store: SqliteStore, backends: dict[str, Audited], repair: bool, shared: bool = False) -> dict[str, Verdict]:
    """Each backend's verdict; with repair, drifted files are re-sent (or deleted) and everything read again."""
    truth = store.manifest_inventory()
    verdicts = {name: Verdict(_drift(store, truth, audited, name, False, shared)) for name, audited in backends.items()}
    if not repair or all(v.found.clean and not v.found.pending for v in verdicts.values()):
        return verdicts
    for name, verdict in verdicts.items():
        verdict.fixed = _queue_repairs(store, name, verdict.found, shared)
    Replicator(store, {name: audited.sink for name, audited in backends.items()}).drain()
    for name, audited in backends.items():
        if verdicts[name].found.orphans:
            verdicts[name].fixed["orphans_deleted"] = audited.delete_orphans()
        verdicts[name].after = _drift(store, truth, audited, name, True, shared)
    return verdicts


def _queue_repairs(store: SqliteStore, name: str, drift: Drift, shared: bool) -> dict[str, int]:
    resent = drift.missing + drift.mismatched
    store.enqueue_many(name, resent, "write")
    deleted = [] if shared else drift.extra
    store.enqueue_many(name, deleted, "delete")
    return {"files_resent": len(resent), "files_deleted": len(deleted)}


def _drift(store: SqliteStore, truth: Inventory, audited: Audited, name: str, strong: bool, shared: bool) -> Drift:
    drift = compare(truth, audited.inventory(strong))
    drift.orphans = {label: count for label, count in audited.orphans().items() if count}
    drift.pending = store.outbox_counts().get(name, 0)
    drift.extra_kept = shared
    return drift


# The team embedding cache -------------------------------------------------------------------------------


class CheckedCache(EmbeddingCache, Protocol):
    """What verify needs of the team cache beyond lookups (stores.milvus_cache.MilvusEmbeddingCache)."""

    def mismatches(self, expected: dict[str, np.ndarray], min_cosine: float = 0.999) -> list[str]: ...

    def expire(self) -> int: ...

    def stats(self) -> dict[str, object]: ...


@dataclass
class CacheVerdict:
    stats: dict[str, object]
    checked: int
    mismatched: list[str]
    fixed: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.mismatched or bool(self.fixed.get("republished"))

    def to_json(self) -> dict[str, object]:
        return {
            **self.stats,
            "checked": self.checked,
            "mismatched": len(self.mismatched),
            "fixed": self.fixed,
            "clean": self.clean,
        }


def verify_cache(store: SqliteStore, cache: CheckedCache, model_id: str, repair: bool) -> CacheVerdict:
    """Compare the cache's vectors for the texts this store holds with this store's; a repair publishes
    this store's vectors over the ones that differ and drops expired entries."""
    ours = store.model_vectors(model_id)
    mismatched = cache.mismatches(ours)
    verdict = CacheVerdict(cache.stats(), len(ours), mismatched)
    if repair:
        cache.publish({h: ours[h] for h in mismatched})
        verdict.fixed = {"republished": len(mismatched), "expired": cache.expire()}
        verdict.stats = cache.stats()
    return verdict
