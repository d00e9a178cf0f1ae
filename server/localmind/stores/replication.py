"""Two stores, one truth: the embedded store is the truth, and server backends are fed from its outbox.

Every file change is written to the local store together with one outbox row per server backend (same
transaction). `Replicator.drain` then applies each pending row to its backend — the file's current
content, read back from the local store, or its deletion — and removes the row once the backend has
it. A backend that fails keeps its rows: they are replayed on the next drain, after a crash or an
outage, and since every backend write replaces the whole file, replaying twice is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from localmind.stores.ports import FileSink
from localmind.stores.sqlite_store import SqliteStore

log = logging.getLogger(__name__)


@dataclass
class DrainReport:
    applied: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # Backend → the error that stopped it.
    pending: dict[str, int] = field(default_factory=dict)


class Replicator:
    def __init__(self, store: SqliteStore, sinks: dict[str, FileSink]) -> None:
        self.store = store
        self.sinks = sinks

    def drain(self, batch: int = 64, max_entries: int | None = None) -> DrainReport:
        """Apply pending entries, oldest first; a backend stops at its first failure (the rest wait)."""
        report = DrainReport()
        for name, sink in self.sinks.items():
            applied, error = self._drain_one(name, sink, batch, max_entries)
            report.applied[name] = applied
            if error is not None:
                report.failed[name] = error
        report.pending = {name: self.store.outbox_counts().get(name, 0) for name in self.sinks}
        return report

    def _drain_one(self, name: str, sink: FileSink, batch: int, max_entries: int | None) -> tuple[int, str | None]:
        applied = 0
        while max_entries is None or applied < max_entries:
            entries = self.store.pending(name, batch)
            if not entries:
                return applied, None
            for seq, file_id, op in entries:
                try:
                    self._apply(sink, file_id, op)
                except Exception as exc:  # Any backend failure: keep the entry, replay it later.
                    message = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "%s backend could not apply %s of %s (%s); it stays in the outbox", name, op, file_id, message
                    )
                    self.store.record_failure(name, seq, message)
                    return applied, message
                self.store.acknowledge(name, seq)
                applied += 1
        return applied, None

    def _apply(self, sink: FileSink, file_id: str, op: str) -> None:
        update = self.store.load_update(file_id) if op == "write" else None
        if update is None:  # Deleted since it was journalled, or a delete: either way the backend drops it.
            sink.delete_file(file_id)
        else:
            sink.write_file(update)
