"""One contract for every GraphStore: the embedded SQLite graph and Neo4j get the same file updates and must
give the same answers, delete without leaving anything behind, and keep workspaces apart.

The corpus is made by the real parse → chunk → extract pipeline (with a simple word tokenizer instead of the
model's, so no model is needed); smaller hand-made updates pin down renames, ordering and hostile values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest

from localmind.indexing import ids
from localmind.indexing.chunker import chunk_document
from localmind.indexing.extract import extract
from localmind.indexing.parsers import parse_file
from localmind.stores.neo4j_graph import Neo4jGraph
from localmind.stores.ports import GraphStore
from localmind.stores.records import ChunkRecord, FileRecord, FileUpdate, LinkRecord, SymbolRecord
from localmind.stores.sqlite_graph import SqliteGraph
from localmind.stores.sqlite_schema import FILE_OWNED_TABLES
from localmind.stores.sqlite_store import SqliteStore
from tests.stores.conftest import Neo4jEndpoint

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORPUS = {
    FIXTURES / "workspace": ["."],
    FIXTURES / "coderepo": ["notes", "src/stores", "src/retrieval"],
}
ID_WORKSPACE = "contract"  # Ids derive from this key; each test stores them under a workspace key of its own.
MODEL = "contract-model"
PAIR_LIMIT = 1000
FAN_OUT = 50
HOSTILE = [
    "it's",
    'say "hi"',
    "`back`ticks`",
    "'}) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n //',
    "$workspace",
    "名前_ünïcödé",
    "emoji_😀",
    "Ünïcode-Tag",
    "a\\b",
    "line\nbreak",
]


# Backends ------------------------------------------------------------------------------------------------------


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass
class Backend:
    """Opens a backend's graph for a workspace and measures everything that workspace holds."""

    name: str
    open_graph: Callable[[str], GraphStore]
    footprint: Callable[[str], int]
    opened: list[Closable] = field(default_factory=list)

    def graph(self, workspace: str) -> GraphStore:
        graph = self.open_graph(workspace)
        self.opened.append(graph)
        return graph


def sqlite_backend(folder: Path) -> Backend:
    stores: list[SqliteStore] = []

    def path(workspace: str) -> Path:
        return folder / f"{hashlib.sha256(workspace.encode()).hexdigest()[:16]}.sqlite3"

    def open_graph(workspace: str) -> GraphStore:
        store = SqliteStore(path(workspace))
        stores.append(store)
        return SqliteGraph(store)

    def footprint(workspace: str) -> int:
        store = SqliteStore(path(workspace))
        stores.append(store)
        tables = ("files", "chunks", *FILE_OWNED_TABLES)
        return sum(int(store.query(f"SELECT COUNT(*) FROM {table}")[0][0]) for table in tables)

    backend = Backend("sqlite", open_graph, footprint)
    backend.opened.append(_Closer(stores))
    return backend


def neo4j_backend(endpoint: Neo4jEndpoint) -> Backend:
    settings = endpoint.settings()
    workspaces: list[str] = []

    def open_graph(workspace: str) -> GraphStore:
        workspaces.append(workspace)
        return Neo4jGraph(settings, workspace)

    def footprint(workspace: str) -> int:
        return sum(neo4j_footprint(endpoint, workspace))

    backend = Backend("neo4j", open_graph, footprint)
    backend.opened.append(_Neo4jCleaner(endpoint, workspaces))
    return backend


def neo4j_footprint(endpoint: Neo4jEndpoint, workspace: str) -> tuple[int, int]:
    """Every node of the workspace, and every relationship touching one."""
    graph = Neo4jGraph(endpoint.settings(), workspace)
    try:
        records, _, _ = graph.driver.execute_query(
            "MATCH (n {workspace: $workspace}) OPTIONAL MATCH (n)-[r]-() "
            "RETURN count(DISTINCT n) AS nodes, count(DISTINCT r) AS relationships",
            workspace=workspace,
            database_=endpoint.settings().database,
        )
        return int(records[0]["nodes"]), int(records[0]["relationships"])
    finally:
        graph.close()


class _Closer:
    """Closes the SQLite stores a backend opened (a SqliteGraph borrows its store and never closes it)."""

    def __init__(self, stores: list[SqliteStore]) -> None:
        self.stores = stores

    def close(self) -> None:
        for store in self.stores:
            store.close()


class _Neo4jCleaner:
    """Removes the workspaces a test wrote, so a shared external server is left as it was found."""

    def __init__(self, endpoint: Neo4jEndpoint, workspaces: list[str]) -> None:
        self.endpoint = endpoint
        self.workspaces = workspaces

    def close(self) -> None:
        if not self.workspaces:
            return
        graph = Neo4jGraph(self.endpoint.settings(), "cleaner")
        try:
            graph.driver.execute_query(
                "UNWIND $workspaces AS workspace MATCH (n {workspace: workspace}) DETACH DELETE n",
                workspaces=self.workspaces,
                database_=self.endpoint.settings().database,
            )
        finally:
            graph.close()


@pytest.fixture(params=["sqlite", "neo4j"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        chosen = sqlite_backend(tmp_path)
    else:
        chosen = neo4j_backend(request.getfixturevalue("neo4j_server"))
    yield chosen
    for opened in reversed(chosen.opened):
        opened.close()


# Updates -------------------------------------------------------------------------------------------------------


def word_spans(text: str) -> list[tuple[int, int]]:
    """A stand-in tokenizer: words and single punctuation marks."""
    return [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]


def extracted_update(root: Path, rel_path: str) -> FileUpdate:
    """One file through the real parse → chunk → extract pipeline, as the indexer would write it."""
    data = (root / rel_path).read_bytes()
    doc = parse_file(rel_path, data.decode("utf-8"))
    chunks = chunk_document(doc, word_spans, 64, 8)
    file_id = ids.file_id(ID_WORKSPACE, root, rel_path)
    graph = extract(file_id, rel_path, doc, chunks)
    record = FileRecord(
        file_id, str(root), rel_path, doc.kind, doc.language, doc.title, len(data), 0, ids.content_hash(data)
    )
    vectors = np.zeros((len(graph.chunks), 4), dtype=np.float32)
    return FileUpdate(
        record,
        graph.chunks,
        vectors,
        MODEL,
        graph.symbols,
        graph.sections,
        graph.tags,
        graph.links,
        graph.mentions,
    )


def corpus_updates() -> list[FileUpdate]:
    updates = []
    for root, folders in CORPUS.items():
        for folder in folders:
            for path in sorted((root / folder).rglob("*")):
                if path.is_file():
                    updates.append(extracted_update(root, path.relative_to(root).as_posix()))
    return updates


CORPUS_UPDATES = corpus_updates()


@dataclass
class Sym:
    chunk: int | None
    name: str
    qualified_name: str = ""


def hand_update(
    rel_path: str,
    texts: list[str],
    *,
    root: str = "/roots/main",
    symbols: Iterable[Sym] = (),
    mentions: Iterable[tuple[int, str]] = (),
    tags: Iterable[tuple[int | None, str]] = (),
    links: Iterable[tuple[int | None, str, str]] = (),
    title: str | None = None,
) -> FileUpdate:
    """A file update made by hand: chunks from texts, everything else by chunk index."""
    file_id = ids.file_id(ID_WORKSPACE, Path(root), rel_path)
    chunks = [_chunk(file_id, ordinal, text) for ordinal, text in enumerate(texts)]

    def chunk_id(index: int | None) -> str | None:
        return None if index is None else chunks[index].id

    record = FileRecord(file_id, root, rel_path, "markdown", "markdown", title, 10, 1, "hash-" + rel_path)
    return FileUpdate(
        record,
        chunks,
        np.zeros((len(chunks), 4), dtype=np.float32),
        MODEL,
        symbols=[_symbol(file_id, chunk_id(s.chunk), s, start) for start, s in enumerate(symbols)],
        tags=[(chunk_id(index), tag) for index, tag in tags],
        links=[LinkRecord(file_id, chunk_id(index), kind, target) for index, kind, target in links],
        mentions=[(chunks[index].id, name) for index, name in mentions],
    )


def _chunk(file_id: str, ordinal: int, text: str) -> ChunkRecord:
    digest = ids.text_hash(text)
    chunk_id = ids.chunk_id(file_id, digest, 0)
    return ChunkRecord(
        chunk_id, file_id, ordinal, text, digest, (ordinal, 0, ordinal, len(text)), (), None, None, 3, None
    )


def _symbol(file_id: str, chunk_id: str | None, sym: Sym, start: int) -> SymbolRecord:
    qualified = sym.qualified_name or sym.name
    return SymbolRecord(
        ids.symbol_id(file_id, qualified, start),
        file_id,
        chunk_id,
        sym.name,
        qualified,
        "function",
        (0, 0, 0, 1),
        0,
        0,
        None,
    )


def chunk_ids(update: FileUpdate) -> list[str]:
    return [chunk.id for chunk in update.chunks]


# Answers -------------------------------------------------------------------------------------------------------


def answers(graph: GraphStore, updates: list[FileUpdate]) -> dict[str, object]:
    """Every query of the port, asked for every seed, name, tag and file the updates hold (and some they don't).

    Seeds and names go in small batches: a batch's answer is the sum of its values' answers, so comparing
    batches compares everything, in a fraction of the round trips."""
    seeds = [chunk.id for update in updates for chunk in update.chunks] + ["no-such-chunk"]
    names = probe_names(updates)
    tags = sorted({tag for u in updates for _, tag in u.tags})
    tags += [variant for tag in tags for variant in (tag.upper(), tag.lower(), tag.swapcase())] + ["no-such-tag"]
    files = [update.file.id for update in updates] + ["no-such-file"]
    return {
        "definitions_mentioned_by": batched(graph.definitions_mentioned_by, seeds, 8, PAIR_LIMIT),
        "mentions_of_definitions_in": batched(graph.mentions_of_definitions_in, seeds, 8, PAIR_LIMIT),
        "linked_chunks": batched(graph.linked_chunks, seeds, 8, None),
        "definitions_named": batched(graph.definitions_named, names, 8, None),
        "mentions_named": batched(graph.mentions_named, names, 1, FAN_OUT),
        "tagged_chunks": batched(graph.tagged_chunks, tags, 1, FAN_OUT),
        "linked_files_first_chunks": {f: sorted(graph.linked_files_first_chunks(f)) for f in files},
        "inventory": graph.file_inventory(),
    }


def probe_names(updates: list[FileUpdate]) -> list[str]:
    """Every defined name, simple and qualified, plus a sample of names that are only mentioned."""
    defined = {s.name for u in updates for s in u.symbols} | {s.qualified_name for u in updates for s in u.symbols}
    mentioned = sorted({name for u in updates for _, name in u.mentions} - defined)
    return sorted(defined) + mentioned[::25] + ["no_such_name"]


def batched(
    query: Callable[[list[str]], list[tuple[str, str]]], values: list[str], size: int, limit: int | None
) -> dict[str, list[tuple[str, str]]]:
    """The sorted answer to each batch of values. An answer that reaches the query's limit may have been cut
    anywhere, so only its size is compared: both backends must stop at the limit."""
    found = {}
    for start in range(0, len(values), size):
        batch = values[start : start + size]
        pairs = sorted(query(batch))
        found[" | ".join(batch)] = [("limit reached", str(len(pairs)))] if len(pairs) == limit else pairs
    return found


def only_answers(found: dict[str, object]) -> dict[str, dict[str, Any]]:
    """The non-empty answers of each query, to show that a comparison covered something."""
    return {
        query: {k: v for k, v in values.items() if v} for query, values in found.items() if isinstance(values, dict)
    }


def reference_answers(folder: Path, updates: list[FileUpdate]) -> dict[str, object]:
    """What the embedded store answers for these updates."""
    store = SqliteStore(folder / f"reference-{len(list(folder.iterdir()))}.sqlite3")
    try:
        graph = SqliteGraph(store)
        write_all(graph, updates)
        return answers(graph, updates)
    finally:
        store.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The embedded store's answers for the corpus: what every backend must answer."""
    return reference_answers(tmp_path_factory.mktemp("reference"), CORPUS_UPDATES)


def write_all(graph: GraphStore, updates: Iterable[FileUpdate]) -> None:
    for update in updates:
        graph.write_file(update)


# The contract --------------------------------------------------------------------------------------------------


def test_the_corpus_is_rich_enough_to_compare(reference: dict[str, object]) -> None:
    covered = only_answers(reference)
    for query in ("definitions_mentioned_by", "mentions_of_definitions_in", "linked_chunks", "definitions_named"):
        assert len(covered[query]) >= 3, query
    for query in ("mentions_named", "tagged_chunks", "linked_files_first_chunks"):
        assert covered[query], query


def test_every_query_answers_like_the_embedded_store(
    backend: Backend, workspace_key: str, reference: dict[str, object]
) -> None:
    graph = backend.graph(workspace_key)
    write_all(graph, CORPUS_UPDATES)
    assert answers(graph, CORPUS_UPDATES) == reference


def test_the_order_files_arrive_in_does_not_matter(
    backend: Backend, workspace_key: str, reference: dict[str, object]
) -> None:
    """A file written before the files it mentions or links to still gets its edges."""
    graph = backend.graph(workspace_key)
    write_all(graph, reversed(CORPUS_UPDATES))
    assert answers(graph, CORPUS_UPDATES) == reference


def test_writing_the_same_update_twice_changes_nothing(backend: Backend, workspace_key: str) -> None:
    graph = backend.graph(workspace_key)
    write_all(graph, CORPUS_UPDATES)
    once = (backend.footprint(workspace_key), answers(graph, CORPUS_UPDATES))
    write_all(graph, CORPUS_UPDATES[::2])
    assert (backend.footprint(workspace_key), answers(graph, CORPUS_UPDATES)) == once


def test_deleting_every_file_leaves_nothing_behind(backend: Backend, workspace_key: str) -> None:
    graph = backend.graph(workspace_key)
    write_all(graph, CORPUS_UPDATES)
    assert backend.footprint(workspace_key) > 0
    for update in CORPUS_UPDATES:
        graph.delete_file(update.file.id)
    assert graph.file_inventory() == {}
    assert backend.footprint(workspace_key) == 0
    assert not any(only_answers(answers(graph, CORPUS_UPDATES)).values())


def test_deleting_a_file_removes_only_its_part(backend: Backend, workspace_key: str) -> None:
    graph = backend.graph(workspace_key)
    write_all(graph, CORPUS_UPDATES)
    gone = next(u for u in CORPUS_UPDATES if u.file.rel_path == "src/config_loader.py")
    kept = [u for u in CORPUS_UPDATES if u is not gone]
    graph.delete_file(gone.file.id)
    graph.delete_file(gone.file.id)  # Deleting twice, or a file never written, is harmless.
    graph.delete_file("no-such-file")
    assert graph.file_inventory() == {u.file.id: set(chunk_ids(u)) for u in kept}
    fresh = backend.graph(f"{workspace_key}-fresh")
    write_all(fresh, kept)
    assert answers(graph, CORPUS_UPDATES) == answers(fresh, CORPUS_UPDATES)


def notes() -> dict[str, FileUpdate]:
    """Three small files whose every edge is known: a note mentioning and linking to code and another note."""
    return {
        "alpha": hand_update(
            "notes/alpha.md",
            ["# Alpha\nSee [[beta]] and src/gamma.py.", "We call parse_thing here.", "Nothing else."],
            mentions=[(1, "parse_thing"), (1, "Helper"), (1, "HelperError"), (2, "undefined_name")],
            tags=[(None, "Design"), (0, "indexing")],
            links=[(0, "wiki", "beta"), (0, "markdown", "src/gamma.py"), (None, "url", "https://example.com")],
        ),
        "beta": hand_update(
            "notes/beta.md",
            ["# Beta\nBack to [[alpha]].", "More about parse_thing."],
            mentions=[(1, "parse_thing")],
            tags=[(None, "design")],
            links=[(0, "wiki", "alpha")],
        ),
        "gamma": hand_update(
            "src/gamma.py",
            ["class Helper: ...", "def parse_thing(): return Helper()"],
            symbols=[
                Sym(0, "Helper", "gamma.Helper"),
                Sym(0, "HelperError", "gamma.HelperError"),
                Sym(1, "parse_thing", "gamma.parse_thing"),
                Sym(None, "ghost"),
            ],
            mentions=[(1, "Helper")],
        ),
    }


def test_hand_made_edges_are_exactly_the_expected_ones(backend: Backend, workspace_key: str) -> None:
    graph = backend.graph(workspace_key)
    n = notes()
    write_all(graph, n.values())
    a, b, g = chunk_ids(n["alpha"]), chunk_ids(n["beta"]), chunk_ids(n["gamma"])
    # A chunk mentioning two names that one chunk defines reaches that chunk twice, in both backends.
    assert sorted(graph.definitions_mentioned_by([a[1], b[1], g[1]])) == sorted(
        [(a[1], g[1]), (a[1], g[0]), (a[1], g[0]), (b[1], g[1]), (g[1], g[0])]
    )
    assert sorted(graph.mentions_of_definitions_in([g[1]])) == sorted([(g[1], a[1]), (g[1], b[1])])
    assert sorted(graph.linked_chunks([a[0], a[1], b[0]])) == sorted([(a[0], b[0]), (a[0], g[0]), (b[0], a[0])])
    assert sorted(graph.definitions_named(["parse_thing", "gamma.Helper", "ghost"])) == sorted(
        [("parse_thing", g[1]), ("gamma.Helper", g[0])]
    )
    assert sorted(graph.mentions_named(["parse_thing", "undefined_name", "ghost"])) == sorted(
        [("parse_thing", a[1]), ("parse_thing", b[1])]
    )
    assert sorted(graph.tagged_chunks(["DESIGN", "Indexing"])) == sorted(
        [("Design", a[0]), ("design", b[0]), ("indexing", a[0])]
    )
    assert sorted(graph.linked_files_first_chunks(n["alpha"].file.id)) == sorted([b[0], g[0]])
    assert sorted(graph.linked_files_first_chunks(n["gamma"].file.id)) == [a[0]]
    assert graph.definitions_mentioned_by([]) == [] and graph.tagged_chunks([]) == []


def test_a_file_without_chunks_is_held_and_deleted_like_any_other(backend: Backend, workspace_key: str) -> None:
    graph = backend.graph(workspace_key)
    empty = hand_update("notes/empty.md", [], tags=[(None, "lonely")], links=[(None, "wiki", "nowhere")])
    graph.write_file(empty)
    assert graph.file_inventory() == {empty.file.id: set()}
    assert graph.tagged_chunks(["lonely"]) == [] and graph.linked_files_first_chunks(empty.file.id) == []
    graph.delete_file(empty.file.id)
    assert graph.file_inventory() == {} and backend.footprint(workspace_key) == 0


def test_a_file_too_big_for_one_statement_is_written_whole(backend: Backend, workspace_key: str) -> None:
    """6,000 mentions travel in more than one batch of rows, all in the file's one transaction."""
    graph = backend.graph(workspace_key)
    names = [f"name_{i}" for i in range(200)]
    big = hand_update(
        "src/big.py",
        [f"chunk {i}" for i in range(30)],
        symbols=[Sym(0, "name_7")],
        mentions=[(chunk, name) for chunk in range(30) for name in names],
    )
    graph.write_file(big)
    chunks = chunk_ids(big)
    assert sorted(graph.mentions_of_definitions_in([chunks[0]])) == sorted((chunks[0], c) for c in chunks[1:])
    assert len(graph.mentions_named(["name_7"])) == 30
    graph.delete_file(big.file.id)
    assert backend.footprint(workspace_key) == 0


def test_immense_values_do_not_stop_their_files(backend: Backend, workspace_key: str) -> None:
    """A workspace can hold a word, a tag, a link target or an identifier of 40,000 characters (a blob, generated
    code); the files holding them are written and deleted like any other, and their other rows still answer."""
    graph = backend.graph(workspace_key)
    immense = "x" * 40_000
    blob = hand_update(
        "notes/blob.md",
        ["# Blob", "parse_thing " + immense],
        mentions=[(1, immense), (1, "parse_thing")],
        tags=[(None, immense), (None, "design")],
        links=[(1, "wiki", immense), (1, "markdown", "src/" + immense), (1, "markdown", "src/code.py")],
    )
    code = hand_update(
        "src/code.py", ["def parse_thing(): ...", "blob"], symbols=[Sym(0, "parse_thing"), Sym(1, "y" * 40_000)]
    )
    write_all(graph, [blob, code])
    assert set(graph.file_inventory()) == {blob.file.id, code.file.id}
    assert graph.definitions_mentioned_by([blob.chunks[1].id]) == [(blob.chunks[1].id, code.chunks[0].id)]
    assert graph.mentions_named(["parse_thing"]) == [("parse_thing", blob.chunks[1].id)]
    assert graph.tagged_chunks(["design"]) == [("design", blob.chunks[0].id)]
    assert graph.linked_chunks([blob.chunks[1].id]) == [(blob.chunks[1].id, code.chunks[0].id)]
    # A question can hold a blob too: asking about one is an empty answer, not an error.
    assert graph.mentions_named([immense]) == [] and graph.definitions_named([immense]) == []
    assert graph.tagged_chunks([immense.upper()]) in ([], [(immense, blob.chunks[0].id)])
    for update in (blob, code):
        graph.delete_file(update.file.id)
    assert graph.file_inventory() == {} and backend.footprint(workspace_key) == 0


def test_a_rename_moves_mentions_and_links(backend: Backend, workspace_key: str) -> None:
    """Re-indexing after a rename deletes the old file's id and writes the new one: edges follow the content."""
    graph = backend.graph(workspace_key)
    n = notes()
    write_all(graph, n.values())
    old = n["gamma"]
    texts = [chunk.text for chunk in old.chunks]
    moved = hand_update(
        "src/delta.py",
        texts,
        symbols=[Sym(0, "Helper", "delta.Helper"), Sym(1, "parse_thing", "delta.parse_thing")],
        mentions=[(1, "Helper")],
    )
    graph.delete_file(old.file.id)
    graph.write_file(moved)
    a, d = chunk_ids(n["alpha"]), chunk_ids(moved)
    assert sorted(graph.definitions_mentioned_by([a[1]])) == sorted([(a[1], d[0]), (a[1], d[1])])
    assert graph.linked_chunks([a[0]]) == [(a[0], chunk_ids(n["beta"])[0])]  # The link named the old path.
    assert graph.definitions_named(["gamma.parse_thing"]) == []
    assert graph.definitions_named(["delta.parse_thing"]) == [("delta.parse_thing", d[1])]
    assert old.file.id not in graph.file_inventory()


def test_workspaces_do_not_see_each_other(backend: Backend, workspace_key: str) -> None:
    first, second = backend.graph(f"{workspace_key}-1"), backend.graph(f"{workspace_key}-2")
    n = notes()
    write_all(first, n.values())
    write_all(second, [n["alpha"], n["beta"]])
    a, g = chunk_ids(n["alpha"]), chunk_ids(n["gamma"])
    assert sorted(second.definitions_mentioned_by([a[1]])) == []
    assert sorted(first.definitions_mentioned_by([a[1]])) == sorted([(a[1], g[0]), (a[1], g[0]), (a[1], g[1])])
    assert set(second.file_inventory()) == {n["alpha"].file.id, n["beta"].file.id}
    for update in n.values():
        second.delete_file(update.file.id)
    assert second.file_inventory() == {}
    assert set(first.file_inventory()) == {u.file.id for u in n.values()}
    assert backend.footprint(f"{workspace_key}-2") == 0


def hostile_updates() -> list[FileUpdate]:
    """Every value a file can supply, full of quotes, query syntax and Unicode."""
    updates = []
    for index, value in enumerate(HOSTILE):
        updates.append(
            hand_update(
                f"notes/{value}.md",
                [f"# {value}", f"mentions {value}"],
                root=f"/roots/{value}",
                title=value,
                symbols=[Sym(0, value, f"{value}.{value}")],
                mentions=[(1, HOSTILE[(index + 1) % len(HOSTILE)])],
                tags=[(None, value)],
                links=[(0, "wiki", HOSTILE[(index + 1) % len(HOSTILE)].lower()), (1, "markdown", f"notes/{value}.md")],
            )
        )
    return updates


def test_hostile_values_are_stored_and_found_literally(backend: Backend, workspace_key: str, tmp_path: Path) -> None:
    graph = backend.graph(workspace_key)
    updates = hostile_updates()
    write_all(graph, updates)
    assert answers(graph, updates) == reference_answers(tmp_path, updates)
    for index, value in enumerate(HOSTILE):
        assert graph.definitions_named([value]) == [(value, updates[index].chunks[0].id)]
        assert graph.tagged_chunks([value]) == [(value, updates[index].chunks[0].id)]
    assert len(graph.file_inventory()) == len(HOSTILE)


def test_a_hostile_workspace_key_is_only_a_value(backend: Backend, workspace_key: str) -> None:
    hostile = f"{workspace_key}'}}) DETACH DELETE n //"
    bystander = backend.graph(workspace_key)
    write_all(bystander, notes().values())
    graph = backend.graph(hostile)
    write_all(graph, notes().values())
    for update in notes().values():
        graph.delete_file(update.file.id)
    assert graph.file_inventory() == {}
    assert len(bystander.file_inventory()) == 3
