"""The outbox: journalled with each change, replayed to server backends until they have it, read back
from the embedded store exactly as written. The sinks here are test doubles of a backend; the real
Neo4j and Milvus adapters run the same path in the backend end-to-end tests."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from localmind.stores.records import FileUpdate
from localmind.stores.replication import BackgroundReplicator, Replicator
from localmind.stores.sqlite_schema import SCHEMA_VERSION
from localmind.stores.sqlite_store import SqliteStore
from localmind.stores.verify import Audited, verify
from tests.conftest import RunIndex


class RecordingSink:
    """Keeps what it was sent; fails while `down` is set, like a backend in an outage. `batches` holds the
    number of files of each call, so a test sees how the replicator grouped them."""

    def __init__(self) -> None:
        self.files: dict[str, FileUpdate] = {}
        self.down = False
        self.calls = 0
        self.batches: list[int] = []

    def write_file(self, update: FileUpdate) -> None:
        self.write_files([update])

    def delete_file(self, file_id: str) -> None:
        self.delete_files([file_id])

    def write_files(self, updates: Sequence[FileUpdate]) -> None:
        self._maybe_fail(len(updates))
        self.files.update((update.file.id, update) for update in updates)

    def delete_files(self, file_ids: Sequence[str]) -> None:
        self._maybe_fail(len(file_ids))
        for file_id in file_ids:
            self.files.pop(file_id, None)

    def _maybe_fail(self, files: int) -> None:
        self.calls += 1
        self.batches.append(files)
        if self.down:
            raise ConnectionError("backend unavailable")


@pytest.fixture()
def indexed_store(run_index: RunIndex, workspace_dir: Path) -> Path:
    _, workspace = run_index(workspace_dir)
    return workspace.store_path


def test_a_file_reads_back_exactly_as_it_was_written(indexed_store: Path, tmp_path: Path) -> None:
    source = SqliteStore(indexed_store)
    copy = SqliteStore(tmp_path / "copy.sqlite3")
    for (file_id,) in source.query("SELECT id FROM files"):
        update = source.load_update(str(file_id))
        assert update is not None
        copy.write_file(update)
        again = copy.load_update(str(file_id))
        assert again is not None
        assert again.file == update.file and again.chunks == update.chunks
        assert again.symbols == update.symbols and again.sections == update.sections
        assert again.links == update.links and again.mentions == update.mentions and again.tags == update.tags
        assert (again.vectors == update.vectors).all()
    assert copy.manifest_inventory() == source.manifest_inventory()
    assert copy.stats()["edges"] == source.stats()["edges"], "the copy holds the same graph"
    assert source.load_update("no-such-file") is None


def test_changes_are_journalled_and_replayed_after_an_outage(indexed_store: Path, tmp_path: Path) -> None:
    source = SqliteStore(indexed_store)
    store = SqliteStore(tmp_path / "journalled.sqlite3", journal_backends=("graph-server",))
    sink = RecordingSink()
    replicator = Replicator(store, {"graph-server": sink})
    ids = [str(row[0]) for row in source.query("SELECT id FROM files ORDER BY id")]
    updates = [source.load_update(i) for i in ids]
    sink.down = True
    for update in updates:
        assert update is not None
        store.write_file(update)
        store.write_file(update)  # The same file twice: one outbox row.
    report = replicator.drain()
    assert report.applied == {"graph-server": 0} and "unavailable" in report.failed["graph-server"]
    assert report.pending == {"graph-server": len(ids)} and sink.files == {}
    store.delete_file(ids[0])
    sink.down = False
    report = replicator.drain(batch=2)
    assert report.failed == {} and report.pending == {"graph-server": 0}
    assert sorted(sink.files) == ids[1:], "every file arrived, the deleted one did not"
    assert {f: {c.id for c in u.chunks} for f, u in sink.files.items()} == store.manifest_inventory()


def test_a_drain_sends_one_call_per_batch_of_files(indexed_store: Path, tmp_path: Path) -> None:
    source = SqliteStore(indexed_store)
    store = SqliteStore(tmp_path / "batched.sqlite3", journal_backends=("server",))
    ids = [str(row[0]) for row in source.query("SELECT id FROM files ORDER BY id")]
    for file_id in ids:
        update = source.load_update(file_id)
        assert update is not None
        store.write_file(update)
    store.delete_file(ids[-1])  # A write then a delete of one file in one batch: the delete wins.
    sink = RecordingSink()
    report = Replicator(store, {"server": sink}).drain(batch=4)
    assert report.pending == {"server": 0} and report.applied == {"server": len(ids)}
    assert sorted(sink.files) == ids[:-1]
    # Each batch of 4 outbox rows becomes at most one write and one delete, whatever the files in it.
    assert sink.calls <= 2 * -(-len(ids) // 4) and max(sink.batches) > 1, sink.batches


def test_a_failed_batch_stays_whole_in_the_outbox(indexed_store: Path, tmp_path: Path) -> None:
    source = SqliteStore(indexed_store)
    store = SqliteStore(tmp_path / "failing.sqlite3", journal_backends=("server",))
    for (file_id,) in source.query("SELECT id FROM files"):
        update = source.load_update(str(file_id))
        assert update is not None
        store.write_file(update)
    sink = RecordingSink()
    sink.down = True
    report = Replicator(store, {"server": sink}).drain(batch=3)
    assert sink.calls == 1, "a backend stops at its first failed batch"
    assert report.pending["server"] == len(store.manifest_inventory())
    attempts = store.query("SELECT SUM(attempts) FROM outbox")[0][0]
    assert attempts == 1, "the failure is recorded once, on the batch's oldest row"


def test_without_server_backends_nothing_is_journalled(indexed_store: Path) -> None:
    assert SqliteStore(indexed_store).outbox_counts() == {}


def test_a_version_1_store_gains_the_outbox_without_a_rebuild(indexed_store: Path) -> None:
    db = sqlite3.connect(indexed_store)
    files = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    db.execute("DROP TABLE outbox")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    store = SqliteStore(indexed_store, journal_backends=("x",))
    assert not store.rebuilt_from_older and store.meta("schema_version") == str(SCHEMA_VERSION)
    assert store.query("SELECT COUNT(*) FROM files")[0][0] == files
    store.enqueue("x", "some-file", "write")
    assert store.outbox_counts() == {"x": 1}


class InventoriedSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[bool] = []  # Whether each inventory read was strong.

    def file_inventory(self, strong: bool = False) -> dict[str, set[str]]:
        self.reads.append(strong)
        return {file_id: {chunk.id for chunk in update.chunks} for file_id, update in self.files.items()}

    def audited(self) -> Audited:
        return Audited(self, self.file_inventory)


def drifted_sink(store: SqliteStore) -> tuple[InventoriedSink, list[str]]:
    """A backend missing the first file, with the second one stale and a file the store does not know."""
    sink = InventoriedSink()
    ids = sorted(store.manifest_inventory())
    for file_id in ids[1:]:
        update = store.load_update(file_id)
        assert update is not None
        sink.write_file(update)
    stale = store.load_update(ids[1])
    assert stale is not None
    sink.files[ids[1]] = FileUpdate(stale.file, stale.chunks[:-1] or [], stale.vectors[:-1], stale.model_id)
    sink.files["ghost"] = stale
    return sink, ids


def test_verify_finds_drift_and_repair_mends_it(indexed_store: Path) -> None:
    store = SqliteStore(indexed_store, journal_backends=("server",))
    sink, ids = drifted_sink(store)
    drift = verify(store, {"server": sink.audited()}, repair=False)["server"].found
    assert drift.missing == [ids[0]] and drift.extra == ["ghost"] and not drift.clean
    assert drift.mismatched == [ids[1]]
    verdict = verify(store, {"server": sink.audited()}, repair=True)["server"]
    assert not verdict.found.clean and verdict.after is not None and verdict.after.clean
    assert verdict.fixed == {"files_resent": 2, "files_deleted": 1}
    assert verdict.final.pending == 0 and sink.file_inventory() == store.manifest_inventory()
    assert sink.reads[-2] is True, "the reading after a repair is a strong one"
    assert verdict.to_json()["clean"] is True and verdict.to_json()["found"]["clean"] is False  # type: ignore[index]


def test_in_a_shared_workspace_a_repair_never_deletes_a_teammates_files(indexed_store: Path) -> None:
    store = SqliteStore(indexed_store, journal_backends=("server",))
    sink, _ = drifted_sink(store)
    verdict = verify(store, {"server": sink.audited()}, repair=True, shared=True)["server"]
    assert "ghost" in sink.files, "a file this store does not know may be a teammate's"
    assert verdict.after is not None and verdict.after.extra == ["ghost"] and verdict.after.clean
    assert verdict.fixed == {"files_resent": 2, "files_deleted": 0}


def test_orphans_make_drift_and_a_repair_deletes_them(indexed_store: Path) -> None:
    store = SqliteStore(indexed_store, journal_backends=("server",))
    sink = InventoriedSink()
    for file_id in store.manifest_inventory():
        update = store.load_update(file_id)
        assert update is not None
        sink.write_file(update)
    orphans = {"Chunk": 3}

    def delete_orphans() -> int:
        count = orphans.pop("Chunk", 0)
        return count

    audited = Audited(sink, sink.file_inventory, lambda: dict(orphans), delete_orphans)
    verdict = verify(store, {"server": audited}, repair=True)["server"]
    assert verdict.found.orphans == {"Chunk": 3} and not verdict.found.clean
    assert verdict.fixed["orphans_deleted"] == 3 and verdict.after is not None and verdict.after.clean


def test_the_replication_thread_drains_while_the_writer_goes_on(indexed_store: Path, tmp_path: Path) -> None:
    source = SqliteStore(indexed_store)
    path = tmp_path / "threaded.sqlite3"
    store = SqliteStore(path, journal_backends=("server",))
    sink = RecordingSink()
    background = BackgroundReplicator(lambda: SqliteStore(path), {"server": sink})
    ids = [str(row[0]) for row in source.query("SELECT id FROM files ORDER BY id")]
    for file_id in ids:  # The writer keeps writing while the thread drains.
        update = source.load_update(file_id)
        assert update is not None
        store.write_file(update)
        background.nudge()
    store.delete_file(ids[0])
    background.nudge()
    report = background.finish()
    assert report is not None and report.pending == {"server": 0} and report.failed == {}
    assert sorted(sink.files) == ids[1:], "the final drain saw the last change"


def test_a_cancelled_run_leaves_the_rest_to_the_next(indexed_store: Path, tmp_path: Path) -> None:
    source = SqliteStore(indexed_store)
    path = tmp_path / "cancelled.sqlite3"
    store = SqliteStore(path, journal_backends=("server",))
    for (file_id,) in source.query("SELECT id FROM files"):
        update = source.load_update(str(file_id))
        assert update is not None
        store.write_file(update)
    sink = RecordingSink()
    background = BackgroundReplicator(lambda: SqliteStore(path), {"server": sink})
    assert background.finish(drain=False) is None and sink.calls == 0
    assert store.outbox_counts() == {"server": len(store.manifest_inventory())}


def test_an_outage_is_logged_once_and_the_recovery_once(
    indexed_store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localmind.stores.replication")
    source = SqliteStore(indexed_store)
    store = SqliteStore(tmp_path / "outage.sqlite3", journal_backends=("server",))
    sink = RecordingSink()
    sink.down = True
    replicator = Replicator(store, {"server": sink})
    for (file_id,) in source.query("SELECT id FROM files"):
        update = source.load_update(str(file_id))
        assert update is not None
        store.write_file(update)
        replicator.drain(batch=2)
    sink.down = False
    replicator.drain()
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "could not apply" in r.getMessage()]
    assert len(warnings) == 1 and sink.calls > 2
    assert sum("answers again" in r.getMessage() for r in caplog.records) == 1
