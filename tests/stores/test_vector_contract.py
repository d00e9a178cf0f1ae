"""One contract for every VectorStore: the embedded exact index (over a SqliteStore), Milvus Lite (a file)
and a real Milvus server. The same file updates go in (random unit vectors from a fixed seed, ids from
indexing/ids.py); the same answers must come out, and they must be the exact ones: the ranking a
brute-force product of every vector with the query gives.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from localmind.errors import LocalMindError
from localmind.indexing import ids
from localmind.stores.embedded_vectors import EmbeddedVectorIndex
from localmind.stores.milvus_vectors import MilvusVectors
from localmind.stores.ports import VectorStore
from localmind.stores.records import ChunkRecord, FileRecord, FileUpdate
from localmind.stores.sqlite_store import SqliteStore
from tests.stores.milvus_fixtures import lite_settings, milvus_lite_file, milvus_server

__all__ = ["milvus_lite_file", "milvus_server"]  # Fixtures, used by name.

MODEL = "contract-test:fp32"
DIMENSIONS = 32
ROOT = Path("/contract")
CHUNKS_PER_FILE = (1, 3, 5, 8, 2, 6)
HOSTILE_IDS = [
    '" or 1==1 or "',
    '") or file_id != ("',
    'x" || workspace != "',
    "\\",
    '\\" or true or \\"',
    "' or ''=='",
    'a"] or ["b',
    "ABCDEF0123",
    "deadbeef\n",
    "",
    "f" * 65,
]

OpenStore = Callable[[str], VectorStore]


@pytest.fixture(params=["embedded", "milvus-lite", "milvus-server"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the parametrised backend's store for a workspace; closes every store it opened."""
    closers: list[Callable[[], None]] = []

    def open_for(workspace: str) -> VectorStore:
        store: VectorStore
        if request.param == "embedded":
            sqlite = SqliteStore(tmp_path / f"{workspace}.sqlite3")
            closers.append(sqlite.close)
            store = EmbeddedVectorIndex(sqlite, MODEL, DIMENSIONS)
        elif request.param == "milvus-lite":
            store = MilvusVectors(
                lite_settings(request.getfixturevalue("milvus_lite_file")), workspace, MODEL, DIMENSIONS
            )
        else:
            settings = request.getfixturevalue("milvus_server").settings()
            store = MilvusVectors(settings, workspace, MODEL, DIMENSIONS)
        closers.insert(0, store.close)
        return store

    yield open_for
    for close in closers:
        close()


def new_workspace() -> str:
    """A workspace key of the usual form, fresh for each test, so tests sharing a collection never meet."""
    return uuid.uuid4().hex[:16]


def unit_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    rows = rng.normal(size=(count, DIMENSIONS))
    unit: np.ndarray = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    return unit


def make_update(workspace: str, rel_path: str, vectors: np.ndarray, file_id: str | None = None) -> FileUpdate:
    """A file with one chunk per vector, its ids derived as the indexer derives them."""
    fid = file_id if file_id is not None else ids.file_id(workspace, ROOT, rel_path)
    chunks = []
    for ordinal in range(len(vectors)):
        text = f"{rel_path} chunk {ordinal} of {len(vectors)}"
        digest = ids.text_hash(text)
        span = (ordinal, 0, ordinal, len(text))
        chunks.append(
            ChunkRecord(ids.chunk_id(fid, digest, 0), fid, ordinal, text, digest, span, (), None, None, 6, None)
        )
    content = ids.content_hash(rel_path.encode())
    record = FileRecord(fid, str(ROOT), rel_path, "text", "text", None, 100, 1, content)
    return FileUpdate(file=record, chunks=chunks, vectors=vectors, model_id=MODEL)


def make_corpus(workspace: str, seed: int = 7) -> list[FileUpdate]:
    rng = np.random.default_rng(seed)
    return [make_update(workspace, f"notes/file-{n}.md", unit_rows(rng, c)) for n, c in enumerate(CHUNKS_PER_FILE)]


def write_all(store: VectorStore, updates: list[FileUpdate]) -> None:
    for update in updates:
        store.write_file(update)


def brute_force(
    updates: list[FileUpdate], query: np.ndarray, k: int, allowed: set[str] | None = None
) -> list[tuple[str, float]]:
    """The exact answer: every vector times the query, best first."""
    kept = [u for u in updates if allowed is None or u.file.id in allowed]
    chunk_ids = [c.id for u in kept for c in u.chunks]
    if not chunk_ids or k <= 0:
        return []
    scores = np.vstack([u.vectors for u in kept]) @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [(chunk_ids[i], float(scores[i])) for i in order]


def assert_same_ranking(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [chunk for chunk, _ in got] == [chunk for chunk, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)


def inventory_of(updates: list[FileUpdate]) -> dict[str, set[str]]:
    return {u.file.id: {c.id for c in u.chunks} for u in updates if u.chunks}


def queries(updates: list[FileUpdate], seed: int = 11) -> list[np.ndarray]:
    """Random directions, plus a stored vector itself (its chunk must come first, with a score of 1)."""
    return [*unit_rows(np.random.default_rng(seed), 4), updates[2].vectors[1]]


def test_search_ranks_exactly_like_brute_force(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    total = sum(CHUNKS_PER_FILE)
    for query in queries(corpus):
        for k in (1, 5, 10, total + 5):
            assert_same_ranking(store.search(query, k), brute_force(corpus, query, k))
    assert store.search(corpus[2].vectors[1], 1)[0][0] == corpus[2].chunks[1].id


def test_search_within_allowed_files(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    unknown = ids.file_id(workspace, ROOT, "never/indexed.md")
    subsets = [
        {corpus[1].file.id, corpus[3].file.id},
        {corpus[5].file.id},
        {corpus[0].file.id, unknown},
        {unknown},
        set(),
    ]
    for query in queries(corpus):
        for allowed in subsets:
            for k in (1, 4, 50):
                assert_same_ranking(store.search(query, k, allowed), brute_force(corpus, query, k, allowed))


def test_k_of_zero_or_an_empty_store_answers_nothing(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store = open_store(workspace)
    query = unit_rows(np.random.default_rng(3), 1)[0]
    assert store.search(query, 5) == []
    assert store.file_inventory() == {}
    write_all(store, make_corpus(workspace))
    assert store.search(query, 0) == []


def test_inventory_lists_every_file_and_its_chunks(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    assert store.file_inventory() == inventory_of(corpus)


def test_deleting_every_file_leaves_nothing(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    store.delete_file(corpus[0].file.id)
    assert store.file_inventory() == inventory_of(corpus[1:])
    for update in corpus[1:]:
        store.delete_file(update.file.id)
    assert store.file_inventory() == {}
    assert store.search(corpus[2].vectors[0], 10) == []
    assert all(store.file_centroid(u.file.id) is None for u in corpus)
    store.delete_file(corpus[0].file.id)  # Deleting what is gone changes nothing.
    assert store.file_inventory() == {}


def test_rewriting_a_file_is_idempotent(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    write_all(store, corpus)
    assert store.file_inventory() == inventory_of(corpus)
    query = queries(corpus)[0]
    assert_same_ranking(store.search(query, 40), brute_force(corpus, query, 40))
    # An edit: file 3 now has two chunks with new vectors; its old chunks must be gone.
    edited = make_update(workspace, corpus[3].file.rel_path, unit_rows(np.random.default_rng(99), 2))
    edited.chunks[0] = corpus[3].chunks[0]  # A chunk that kept its text keeps its id.
    latest = [*corpus[:3], edited, *corpus[4:]]
    store.write_file(edited)
    store.write_file(edited)
    assert store.file_inventory() == inventory_of(latest)
    for query in queries(latest):
        assert_same_ranking(store.search(query, 40), brute_force(latest, query, 40))


def test_rename_deletes_the_old_id_and_writes_the_new(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    renamed = make_update(workspace, "notes/renamed.md", corpus[4].vectors)
    store.delete_file(corpus[4].file.id)
    store.write_file(renamed)
    latest = [*corpus[:4], renamed, corpus[5]]
    assert store.file_inventory() == inventory_of(latest)
    assert store.file_centroid(corpus[4].file.id) is None
    for query in queries(latest):
        assert_same_ranking(store.search(query, 40), brute_force(latest, query, 40))


def test_workspaces_do_not_see_each_other(open_store: OpenStore) -> None:
    first, second = new_workspace(), new_workspace()
    store_a, store_b = open_store(first), open_store(second)
    corpus_a, corpus_b = make_corpus(first, seed=1), make_corpus(second, seed=2)
    write_all(store_a, corpus_a)
    write_all(store_b, corpus_b)
    assert store_a.file_inventory() == inventory_of(corpus_a)
    assert store_b.file_inventory() == inventory_of(corpus_b)
    for query in queries(corpus_a):
        assert_same_ranking(store_a.search(query, 40), brute_force(corpus_a, query, 40))
        assert_same_ranking(store_b.search(query, 40), brute_force(corpus_b, query, 40))
    # Files of the other workspace are invisible, even when asked for by id.
    assert store_a.search(corpus_b[0].vectors[0], 5, {corpus_b[0].file.id}) == []
    assert store_a.file_centroid(corpus_b[0].file.id) is None
    for update in corpus_a:
        store_a.delete_file(update.file.id)
    assert store_a.file_inventory() == {}
    assert store_b.file_inventory() == inventory_of(corpus_b)


def test_file_centroid_is_the_normalised_mean(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    for update in corpus:
        mean = update.vectors.astype(np.float64).mean(axis=0)
        centroid = store.file_centroid(update.file.id)
        assert centroid is not None
        np.testing.assert_allclose(centroid, mean / np.linalg.norm(mean), atol=1e-5)
    assert store.file_centroid(ids.file_id(workspace, ROOT, "never/indexed.md")) is None


def test_hostile_ids_are_matched_literally_or_refused_never_run(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    query, kept = queries(corpus)[0], corpus[1].file.id
    for hostile in HOSTILE_IDS:
        assert store.search(query, 10, {hostile}) == [], hostile
        assert_same_ranking(store.search(query, 10, {hostile, kept}), brute_force(corpus, query, 10, {kept}))
        assert store.file_centroid(hostile) is None
        _delete_refused_or_harmless(store, hostile)
        assert store.file_inventory() == inventory_of(corpus), hostile


def test_a_hostile_file_id_is_stored_literally_or_refused(open_store: OpenStore) -> None:
    workspace = new_workspace()
    store, corpus = open_store(workspace), make_corpus(workspace)
    write_all(store, corpus)
    query = queries(corpus)[0]
    for hostile in HOSTILE_IDS[:3]:
        update = make_update(workspace, "evil.md", unit_rows(np.random.default_rng(5), 2), file_id=hostile)
        try:
            store.write_file(update)
        except (LocalMindError, ValueError):
            assert store.file_inventory() == inventory_of(corpus)
            continue
        # Stored as the literal string it is: only its own chunks match it, and deleting it removes only it.
        assert store.file_inventory() == inventory_of([*corpus, update])
        assert_same_ranking(store.search(query, 10, {hostile}), brute_force([update], query, 10))
        store.delete_file(hostile)
        assert store.file_inventory() == inventory_of(corpus)


def _delete_refused_or_harmless(store: VectorStore, file_id: str) -> None:
    with contextlib.suppress(LocalMindError, ValueError):
        store.delete_file(file_id)
