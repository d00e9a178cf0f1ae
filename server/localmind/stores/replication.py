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
import threading
from collections.abc import Callable
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
        self._failing: set[str] = set()  # Backends whose last drain failed: an outage is logged once.

    def drain(self, batch: int = FILES_PER_BATCH, max_entries: int | None = None) -> DrainReport:
        """Apply pending entries, oldest first; a backend stops at its first failure (the rest wait)."""
        report = DrainReport()
        for name, sink in self.sinks.items():
            applied, error = self._drain_one(name, sink, batch, max_entries)
            report.applied[name] = applied
            if error is not None:
                report.failed[name] = error
            elif name in self._failing:
                self._failing.discard(name)
                log.info("%s backend answers again; the outbox is being replayed", name)
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
                level = logging.DEBUG if name in self._failing else logging.WARNING
                self._failing.add(name)
                log.log(level, "%s backend could not apply outbox entries (%s); they stay", name, message)
                self.store.record_failure(name, entries[0][0], message)
                return applied, message
            self.store.acknowledge(name, [seq for seq, _, _ in entries])
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


class BackgroundReplicator:
    """Drains the outbox on a thread of its own, with a store connection of its own, while indexing goes
    on: the servers' round trips (a Neo4j commit, a Milvus delete that waits for a time tick) overlap with
    parsing and embedding instead of stopping them. `nudge()` after each batch of files says there is more;
    `finish()` drains what is left and returns the last report.

    The outbox makes this safe: a drain reads each file's state when it applies it, and acknowledges only
    the rows it read, so a file rewritten meanwhile keeps a newer row and is sent again."""

    def __init__(self, open_store: Callable[[], SqliteStore], sinks: dict[str, ReplicaSink]) -> None:
        self._open_store = open_store
        self._sinks = sinks
        self._wake = threading.Event()
        self._stopping = False
        self._drain_last = True
        self.last: DrainReport | None = None
        self._thread = threading.Thread(target=self._loop, name="localmind-replication", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """There is more in the outbox."""
        self._wake.set()

    def finish(self, drain: bool = True) -> DrainReport | None:
        """Stop the thread, after one more drain unless `drain` is False (a cancelled run leaves the rest
        to the next one); the report of the last drain."""
        self._drain_last = drain
        self._stopping = True
        self._wake.set()
        self._thread.join()
        return self.last

    def _loop(self) -> None:
        store = self._open_store()
        try:
            replicator = Replicator(store, self._sinks)
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping and not self._drain_last:
                    return
                self.last = replicator.drain()
                if self._stopping:
                    return
        except Exception:  # The local store failed (a full disk): the rows stay, the next run drains them.
            log.exception("replication to the server backends stopped; the outbox keeps the rest")
        finally:
            store.close()
