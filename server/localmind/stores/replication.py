"""Two stores, one truth: the embedded store is the truth, and server backends are fed from its outbox.

Every file change is written to the local store together with one outbox row per server backend (same
transaction). `Replicator.drain` then applies the pending rows to each backend a batch at a time — each
file's current content, read back from the local store, or its deletion — and removes the rows once the
backend has them. A batch is one call per backend (`write_files`, `delete_files`): one Neo4j transaction,
one Milvus delete and insert, whatever the number of files in it.

A backend that fails keeps its rows: they are replayed on the next drain, after a crash or an outage, and
since every backend write replaces the whole file, replaying twice is harmless. Which operation a row
names does not matter when it is applied: the file's state in the local store now decides (present: write
it; gone: delete it), so a batch holding a write and a later delete of one file does the right thing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from localmind.stores.ports import ReplicaSink
from localmind.stores.records import FileUpdate
from localmind.stores.sqlite_store import SqliteStore

log = logging.getLogger(__name__)

FILES_PER_BATCH = 64


@dataclass
class DrainReport:
    applied: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # Backend → the error that stopped it.
    pending: dict[str, int] = field(default_factory=dict)


class Replicator:
    def __init__(self, store: SqliteStore, sinks: dict[str, ReplicaSink]) -> None:
        self.store = store
        self.sinks = sinks

    def drain(self, batch: int = FILES_PER_BATCH, max_entries: int | None = None) -> DrainReport:
        """Apply pending entries, oldest first; a backend stops at its first failure (the rest wait)."""
        report = DrainReport()
        for name, sink in self.sinks.items():
            applied, error = self._drain_one(name, sink, batch, max_entries)
            report.applied[name] = applied
            if error is not None:
                report.failed[name] = error
        report.pending = {name: self.store.outbox_counts().get(name, 0) for name in self.sinks}
        return report

    def _drain_one(self, name: str, sink: ReplicaSink, batch: int, max_entries: int | None) -> tuple[int, str | None]:
        applied = 0
        while max_entries is None or applied < max_entries:
            limit = batch if max_entries is None else min(batch, max_entries - applied)
            entries = self.store.pending(name, limit)
            if not entries:
                return applied, None
            try:
                self._apply(sink, list(dict.fromkeys(file_id for _, file_id, _ in entries)))
            except Exception as exc:  # Any backend failure: keep the entries, replay them later.
                message = f"{type(exc).__name__}: {exc}"
                log.warning("%s backend could not apply %d outbox entries (%s); they stay", name, len(entries), message)
                self.store.record_failure(name, entries[0][0], message)
                return applied, message
            self.store.acknowledge_all(name, [seq for seq, _, _ in entries])
            applied += len(entries)
        return applied, None

    def _apply(self, sink: ReplicaSink, file_ids: list[str]) -> None:
        """Send each file's current state: its content when the local store has it, else its deletion."""
        updates: list[FileUpdate] = []
        gone: list[str] = []
        for file_id in file_ids:
            update = self.store.load_update(file_id)
            if update is None:
                gone.append(file_id)
            else:
                updates.append(update)
        if gone:
            sink.delete_files(gone)
        if updates:
            sink.write_files(updates)
