"""The embedded exact vector index against a brute-force ranking, with and without a file filter."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from localmind.stores import sqlite_store
from localmind.stores.embedded_vectors import EmbeddedVectorIndex
from localmind.stores.records import ChunkRecord, FileRecord, FileUpdate, PendingVector
from localmind.stores.sqlite_store import SqliteStore

DIMENSIONS = 8


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "index.sqlite3")
    rng = np.random.default_rng(7)
    for f in range(6):
        vectors = rng.standard_normal((5, DIMENSIONS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        chunks = [
            ChunkRecord(f"c{f}-{n}", f"f{f}", n, f"text {f} {n}", f"h{f}{n}", (n, 0, n, 4), (), None, None, 3, None)
            for n in range(5)
        ]
        record = FileRecord(f"f{f}", "/r", f"file{f}.txt", "docs", "text", None, 1, 0, f"h{f}")
        store.write_file(FileUpdate(record, chunks, vectors, "m"))
    return store


def brute_force(store: SqliteStore, query: np.ndarray, allowed: set[str] | None) -> list[str]:
    rows = store.query("SELECT chunk_id, file_id, vector FROM vectors")
    scored = [
        (float(np.frombuffer(blob, dtype=np.float32) @ query), str(chunk))  # type: ignore[arg-type]
        for chunk, file, blob in rows
        if allowed is None or file in allowed
    ]
    return [chunk for _, chunk in sorted(scored, reverse=True)]


@pytest.mark.parametrize("allowed", [None, {"f1", "f4"}, {"f5"}, set()])
def test_search_matches_brute_force(store: SqliteStore, allowed: set[str] | None) -> None:
    index = EmbeddedVectorIndex(store, "m", DIMENSIONS)
    query = np.random.default_rng(1).standard_normal(DIMENSIONS).astype(np.float32)
    for k in (1, 4, 100):
        found = index.search(query, k, allowed)
        assert [chunk for chunk, _ in found] == brute_force(store, query, allowed)[:k]
        assert all(a >= b for (_, a), (_, b) in itertools.pairwise(found))


def test_other_models_and_k_zero_find_nothing(store: SqliteStore) -> None:
    query = np.ones(DIMENSIONS, dtype=np.float32)
    assert EmbeddedVectorIndex(store, "other-model", DIMENSIONS).search(query, 5) == []
    assert EmbeddedVectorIndex(store, "m", DIMENSIONS).search(query, 0) == []


def pending_file(store: SqliteStore, f: int) -> list[PendingVector]:
    """A file written in phase 1 with every vector pending."""
    chunks = [
        ChunkRecord(f"c{f}-{n}", f"f{f}", n, f"text {f} {n}", f"h{f}{n}", (n, 0, n, 4), (), None, None, 3, None)
        for n in range(3)
    ]
    record = FileRecord(f"f{f}", "/r", f"file{f}.txt", "docs", "text", None, 1, 0, f"h{f}")
    placeholders = np.zeros((3, DIMENSIONS), dtype=np.float32)
    store.write_file(FileUpdate(record, chunks, placeholders, "m", pending={c.id: c.text for c in chunks}))
    return store.pending_vectors(100)


def index_counting_whole_loads(
    store: SqliteStore, query: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> tuple[EmbeddedVectorIndex, list[int]]:
    """An index that has searched once, and the sizes of the whole loads it makes from then on."""
    index = EmbeddedVectorIndex(store, "m", DIMENSIONS)
    index.search(query, 5)
    whole_loads: list[int] = []
    load = index._load
    monkeypatch.setattr(index, "_load", lambda rows: (whole_loads.append(len(rows)), load(rows)))
    return index, whole_loads


def test_vectors_added_step_by_step_are_appended_and_removed_rows_are_dropped(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = np.random.default_rng(3).standard_normal(DIMENSIONS).astype(np.float32)
    index, whole_loads = index_counting_whole_loads(store, query, monkeypatch)
    waiting = pending_file(store, 9)
    rng = np.random.default_rng(5)
    for item in waiting:  # Phase 2: one vector per step.
        vector = rng.standard_normal(DIMENSIONS).astype(np.float32)
        store.write_vectors("m", [(item, vector / np.linalg.norm(vector))])
        assert [c for c, _ in index.search(query, 100)] == brute_force(store, query, None)
    assert whole_loads == [] and len(index) == 33
    store.delete_file("f2")  # A removal below the newest row: the rows that went are dropped, nothing reloaded.
    assert [c for c, _ in index.search(query, 100)] == brute_force(store, query, None)
    assert whole_loads == [] and len(index) == 28
    assert index.file_centroid("f2") is None and index.file_centroid("f9") is not None
    store.delete_file("f9")  # The newest rows go, and SQLite gives their row numbers to the next vectors,
    assert [c for c, _ in index.search(query, 100)] == brute_force(store, query, None)
    for f in (10, 11):  # …once after a look at the store and once without one in between.
        store.delete_file(f"f{f - 1}")
        added = pending_file(store, f)
        store.write_vectors("m", [(item, np.eye(DIMENSIONS, dtype=np.float32)[n]) for n, item in enumerate(added)])
        assert [c for c, _ in index.search(query, 100)] == brute_force(store, query, None)
    assert whole_loads == [] and len(index) == 28


def test_vectors_alone_move_the_generation_but_not_the_files_generation(store: SqliteStore) -> None:
    waiting = pending_file(store, 9)
    files_generation, generation = store.files_generation(), store.generation()
    store.write_vectors("m", [(item, np.ones(DIMENSIONS, np.float32)) for item in waiting])
    assert store.generation() == generation + 1 and store.files_generation() == files_generation
    store.delete_file("f9")
    assert store.files_generation() == files_generation + 1


def test_a_reader_behind_a_pruned_removal_log_loads_the_matrix_whole(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = np.random.default_rng(7).standard_normal(DIMENSIONS).astype(np.float32)
    index, whole_loads = index_counting_whole_loads(store, query, monkeypatch)
    store.delete_file("f1")  # Logged and seen: dropped by the log, no reload.
    assert [c for c, _ in index.search(query, 100)] == brute_force(store, query, None)
    assert whole_loads == []
    monkeypatch.setattr(sqlite_store, "_REMOVAL_LOG_ENTRIES", 2)
    for f in (2, 3, 4):  # Three files' rows removed while the reader does not look: the log keeps 2 entries.
        store.delete_file(f"f{f}")
    assert [c for c, _ in index.search(query, 100)] == brute_force(store, query, None)
    assert whole_loads == [len(brute_force(store, query, None))]
