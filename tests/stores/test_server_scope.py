"""Moving a workspace to its owner's key on the team servers: every file is queued for the new key, this
store's own files are deleted under the old one, and a cleanup that fails is tried again next time. The
servers here are test doubles; tests/stores/test_team_index.py moves a workspace on Neo4j and Milvus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from localmind.stores.records import FileUpdate
from localmind.stores.replication import Replicator
from localmind.stores.server_scope import CLEANUP_KEY, SCOPE_KEY, ServerScope, adopt_scope
from localmind.stores.sqlite_store import SqliteStore
from tests.conftest import RunIndex


class KeyedServer:
    """One server holding files under workspace keys; `down` makes every call fail."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, FileUpdate]] = {}
        self.down = False

    def sink(self, key: str) -> ScopedSink:
        return ScopedSink(self, key)


class ScopedSink:
    def __init__(self, server: KeyedServer, key: str) -> None:
        self.server, self.key = server, key

    def write_file(self, update: FileUpdate) -> None:
        self.write_files([update])

    def delete_file(self, file_id: str) -> None:
        self.delete_files([file_id])

    def write_files(self, updates: Sequence[FileUpdate]) -> None:
        self._check()
        self.server.rows.setdefault(self.key, {}).update((u.file.id, u) for u in updates)

    def delete_files(self, file_ids: Sequence[str]) -> None:
        self._check()
        for file_id in file_ids:
            self.server.rows.get(self.key, {}).pop(file_id, None)

    def close(self) -> None:
        pass

    def _check(self) -> None:
        if self.server.down:
            raise ConnectionError("server unavailable")


@pytest.fixture()
def store(run_index: RunIndex, workspace_dir: Path) -> SqliteStore:
    _, workspace = run_index(workspace_dir)
    return SqliteStore(workspace.store_path, journal_backends=("neo4j",))


def scope(server: KeyedServer, key: str) -> ServerScope:
    return ServerScope(key, "legacy0000000000", lambda old: {"neo4j": server.sink(old)})


def test_an_upgraded_store_moves_its_own_files_and_leaves_anothers(store: SqliteStore) -> None:
    server = KeyedServer()
    files = store.file_ids()
    legacy = server.sink("legacy0000000000")
    for file_id in files:
        update = store.load_update(file_id)
        assert update is not None
        legacy.write_file(update)
    legacy.write_file(FileUpdate(replace(update.file, id="someone-elses"), [], update.vectors[:0], ""))
    adopt_scope(store, ("neo4j",), scope(server, "ada0000000000000"))
    Replicator(store, {"neo4j": server.sink("ada0000000000000")}).drain()
    assert sorted(server.rows["ada0000000000000"]) == files
    assert list(server.rows["legacy0000000000"]) == ["someone-elses"], "only this store's files left the old key"
    assert store.meta(SCOPE_KEY) == "ada0000000000000" and not store.meta(CLEANUP_KEY)
    adopt_scope(store, ("neo4j",), scope(server, "ada0000000000000"))
    assert store.outbox_counts() == {}, "a store already under its key queues nothing"


def test_a_cleanup_during_an_outage_is_tried_again(store: SqliteStore) -> None:
    server = KeyedServer()
    adopt_scope(store, ("neo4j",), scope(server, "ada0000000000000"))
    server.down = True
    adopt_scope(store, ("neo4j",), scope(server, "grace00000000000"))
    assert store.meta(CLEANUP_KEY) == "ada0000000000000", "the old key waits for the server"
    server.down = False
    first = store.file_ids()[0]
    update = store.load_update(first)
    assert update is not None
    server.rows["ada0000000000000"] = {first: update}
    adopt_scope(store, ("neo4j",), scope(server, "grace00000000000"))
    assert server.rows["ada0000000000000"] == {} and not store.meta(CLEANUP_KEY)


def test_without_server_backends_nothing_moves(store: SqliteStore) -> None:
    server = KeyedServer()
    adopt_scope(store, (), scope(server, "ada0000000000000"))
    assert store.meta(SCOPE_KEY) is None and store.outbox_counts() == {}
