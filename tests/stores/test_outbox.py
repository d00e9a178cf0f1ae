"""The outbox: journalled with each change, replayed to server backends until they have it, read back
from the embedded store exactly as written. The sinks here are test doubles of a backend; the real
Neo4j and Milvus adapters run the same path in the backend end-to-end tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localmind.stores.records import FileUpdate
from localmind.stores.replication import Replicator
from localmind.stores.sqlite_schema import SCHEMA_VERSION
from localmind.stores.sqlite_store import SqliteStore
from tests.conftest import RunIndex


class RecordingSink:
    """Keeps what it was sent; fails while `down` is set, like a backend in an outage."""

    def __init__(self) -> None:
        self.files: dict[str, FileUpdate] = {}
        self.down = False
        self.calls = 0

    def write_file(self, update: FileUpdate) -> None:
        self._maybe_fail()
        self.files[update.file.id] = update

    def delete_file(self, file_id: str) -> None:
        self._maybe_fail()
        self.files.pop(file_id, None)

    def _maybe_fail(self) -> None:
        self.calls += 1
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
    def file_inventory(self) -> dict[str, set[str]]:
        return {file_id: {chunk.id for chunk in update.chunks} for file_id, update in self.files.items()}


def test_verify_finds_drift_and_repair_mends_it(indexed_store: Path) -> None:
    from localmind.stores.verify import verify

    store = SqliteStore(indexed_store, journal_backends=("server",))
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
    drift = verify(store, {"server": sink}, repair=False)["server"]
    assert drift.missing == [ids[0]] and drift.extra == ["ghost"] and not drift.clean
    assert drift.mismatched == ([ids[1]] if stale.chunks else [])
    repaired = verify(store, {"server": sink}, repair=True)["server"]
    assert repaired.clean and repaired.pending == 0 and sink.file_inventory() == store.manifest_inventory()
