"""Indexing the fixture workspace into the embedded store: files, chunks with exact ranges, the graph."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.errors import ConfigError
from localmind.indexing.pipeline import CHUNKING_VERSION, Indexer, IndexReport
from localmind.indexing.workspace import open_workspace
from localmind.stores.ports import StoreError
from localmind.stores.sqlite_store import SqliteStore

INDEXED = {
    "README.md",
    "docs/guide.rst",
    "notes/architecture.md",
    "notes/design.md",
    "src/args.ts",
    "src/config_loader.py",
    "src/server.ts",
    "src/settings.py",
    "src/utils.py",
    ".gitignore",
}

Indexed = tuple[IndexReport, SqliteStore]


def rows(store: SqliteStore, sql: str, *params: object) -> list[tuple[object, ...]]:
    return store.query(sql, params)


def test_the_right_files_are_indexed_and_the_rest_skipped_with_reasons(indexed: Indexed) -> None:
    report, store = indexed
    assert {r[0] for r in rows(store, "SELECT rel_path FROM files")} == INDEXED
    skipped = dict(rows(store, "SELECT rel_path, reason FROM skipped"))
    assert skipped["build/"] == "ignored"
    assert skipped["debug.log"] == "ignored"
    assert skipped[".env"] == "secret file name"
    assert report.files_indexed == len(INDEXED)
    assert report.chunks_embedded == report.chunks_written > 0


def test_every_chunk_range_slices_its_text_out_of_the_source(indexed: Indexed, workspace_dir: Path) -> None:
    _, store = indexed
    chunks = rows(
        store,
        "SELECT f.rel_path, c.text, c.start_line, c.start_char, c.end_line, c.end_char FROM chunks c "
        "JOIN files f ON f.id = c.file_id WHERE f.rel_path != 'src/settings.py'",
    )
    assert len(chunks) >= len(INDEXED) - 1
    for rel_path, text, start_line, start_char, end_line, end_char in chunks:
        lines = (workspace_dir / str(rel_path)).read_text().split("\n")
        if start_line == end_line:
            sliced = lines[start_line][start_char:end_char]
        else:
            middle = lines[start_line + 1 : end_line]
            sliced = "\n".join([lines[start_line][start_char:], *middle, lines[end_line][:end_char]])
        assert sliced == text, rel_path


def test_a_python_function_has_its_definition_range(indexed: Indexed) -> None:
    _, store = indexed
    [(kind, start_line, end_line, name_line, name_char, doc)] = rows(
        store,
        "SELECT kind, start_line, end_line, name_line, name_char, doc FROM symbols WHERE name = 'parse_config'",
    )
    assert kind == "function"
    assert (start_line, end_line) == (11, 19)
    assert (name_line, name_char) == (11, 4)
    assert "KEY=VALUE" in str(doc)


def test_a_note_that_mentions_a_function_gets_a_mentions_edge_to_it(indexed: Indexed) -> None:
    _, store = indexed
    edges = rows(
        store,
        "SELECT f.rel_path, s.name, sf.rel_path FROM edges e JOIN chunks c ON c.id = e.src "
        "JOIN files f ON f.id = c.file_id JOIN symbols s ON s.id = e.dst JOIN files sf ON sf.id = s.file_id "
        "WHERE e.kind = 'MENTIONS' AND f.rel_path = 'notes/architecture.md'",
    )
    names = {(str(name), str(target)) for _, name, target in edges}
    assert ("parse_config", "src/config_loader.py") in names
    assert ("ConfigError", "src/config_loader.py") in names
    assert ("startServer", "src/server.ts") in names
    assert ("parseArgs", "src/args.ts") in names


def test_code_that_calls_a_function_of_another_file_mentions_it(indexed: Indexed) -> None:
    _, store = indexed
    mentioned = rows(
        store,
        "SELECT s.name FROM edges e JOIN chunks c ON c.id = e.src JOIN files f ON f.id = c.file_id "
        "JOIN symbols s ON s.id = e.dst WHERE e.kind = 'MENTIONS' AND f.rel_path = 'src/config_loader.py'",
    )
    assert ("read_lines",) in mentioned


def test_links_resolve_to_files_markdown_wiki_and_imports(indexed: Indexed) -> None:
    _, store = indexed
    links = {
        (str(a), str(b))
        for a, b in rows(
            store,
            "SELECT f.rel_path, t.rel_path FROM edges e JOIN files f ON f.id = e.src JOIN files t ON t.id = e.dst "
            "WHERE e.kind = 'LINKS_TO'",
        )
    }
    assert ("notes/architecture.md", "src/config_loader.py") in links
    assert ("notes/architecture.md", "notes/design.md") in links
    assert ("src/server.ts", "src/args.ts") in links
    assert ("src/config_loader.py", "src/utils.py") in links


def test_structure_edges_exist(indexed: Indexed) -> None:
    _, store = indexed
    kinds = dict(rows(store, "SELECT kind, COUNT(*) FROM edges GROUP BY kind"))
    for kind in ("CONTAINS", "DEFINES", "NEXT", "IN_SECTION", "TAGGED", "MENTIONS", "LINKS_TO"):
        assert int(kinds.get(kind, 0)) > 0, kind
    tags = {str(r[0]) for r in rows(store, "SELECT tag FROM tags")}
    assert {"design", "indexing", "configuration"} <= tags
    sections = rows(
        store,
        "SELECT s.title, p.title FROM sections s LEFT JOIN sections p ON p.id = s.parent_id "
        "JOIN files f ON f.id = s.file_id WHERE f.rel_path = 'notes/architecture.md'",
    )
    assert ("Search flow", "Architecture") in sections


def test_chunks_know_their_heading_path(indexed: Indexed) -> None:
    _, store = indexed
    paths = rows(
        store,
        "SELECT c.heading_path, c.text FROM chunks c JOIN files f ON f.id = c.file_id "
        "WHERE f.rel_path = 'notes/design.md'",
    )
    assert paths and all(json.loads(str(p))[0] == "Design" for p, _ in paths)


def test_secrets_inside_files_are_redacted_before_storing(indexed: Indexed) -> None:
    report, store = indexed
    [(text,)] = rows(
        store, "SELECT c.text FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel_path = 'src/settings.py'"
    )
    assert "hunter2hunter2" not in str(text) and "sk-proj-abc" not in str(text)
    assert "token_count = 1234567890" in str(text)
    assert report.secrets_redacted >= 2
    fts = rows(store, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'hunter2hunter2'")
    assert fts == []


def test_vectors_are_stored_for_every_chunk_and_are_unit_length(indexed: Indexed) -> None:
    _, store = indexed
    [(chunks,)] = rows(store, "SELECT COUNT(*) FROM chunks")
    blobs = rows(store, "SELECT v.vector FROM vectors v JOIN chunks c ON c.id = v.chunk_id")
    assert len(blobs) == chunks
    matrix = np.stack([np.frombuffer(b, dtype=np.float32) for (b,) in blobs])
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


def test_a_second_run_changes_nothing_and_embeds_nothing(workspace_dir: Path, run_index) -> None:
    first, _ = run_index(workspace_dir)
    second, _ = run_index(workspace_dir)
    assert second.files_indexed == 0 and second.chunks_embedded == 0
    assert second.files_unchanged == first.files_indexed


def test_an_edit_reindexes_only_that_file_and_only_new_chunks_are_embedded(workspace_dir: Path, run_index) -> None:
    run_index(workspace_dir)
    note = workspace_dir / "notes" / "design.md"
    note.write_text(note.read_text() + "\n## Offline models\n\nModels are built from local weights.\n")
    report, workspace = run_index(workspace_dir)
    assert report.files_indexed == 1
    assert 0 < report.chunks_embedded <= 2
    store = SqliteStore(workspace.store_path)
    assert rows(store, "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'weights'") == [(1,)]


def test_a_store_chunked_by_another_version_is_rechunked_once(workspace_dir: Path, run_index) -> None:
    first, workspace = run_index(workspace_dir)
    store = SqliteStore(workspace.store_path)
    assert store.meta("chunking_version") == CHUNKING_VERSION
    store.set_meta("chunking_version", "1")
    store.close()
    again, _ = run_index(workspace_dir)
    assert again.files_indexed == first.files_indexed and again.files_unchanged == 0
    assert again.chunks_embedded == 0  # The same chunk texts: their vectors come from the cache.
    settled, _ = run_index(workspace_dir)
    assert settled.files_indexed == 0


def test_touching_a_file_without_changing_it_embeds_nothing(workspace_dir: Path, run_index) -> None:
    run_index(workspace_dir)
    (workspace_dir / "README.md").touch()
    report, _ = run_index(workspace_dir)
    assert report.files_indexed == 0 and report.chunks_embedded == 0


ORPHANS = {
    "chunks": "SELECT COUNT(*) FROM chunks WHERE file_id NOT IN (SELECT id FROM files)",
    "fts": "SELECT COUNT(*) FROM chunks_fts WHERE rowid NOT IN (SELECT rid FROM chunks)",
    "vectors": "SELECT COUNT(*) FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)",
    "symbols": "SELECT COUNT(*) FROM symbols WHERE file_id NOT IN (SELECT id FROM files)",
    "sections": "SELECT COUNT(*) FROM sections WHERE file_id NOT IN (SELECT id FROM files)",
    "mentions": "SELECT COUNT(*) FROM mentions WHERE chunk_id NOT IN (SELECT id FROM chunks)",
    "links": "SELECT COUNT(*) FROM links WHERE file_id NOT IN (SELECT id FROM files)",
    "tags": "SELECT COUNT(*) FROM tags WHERE file_id NOT IN (SELECT id FROM files)",
    "edges": "SELECT COUNT(*) FROM edges WHERE kind != 'TAGGED' AND dst NOT LIKE 'url:%' AND dst NOT IN "
    "(SELECT id FROM chunks UNION SELECT id FROM symbols UNION SELECT id FROM sections UNION SELECT id FROM files)",
}


def assert_no_orphans(store: SqliteStore) -> None:
    for name, sql in ORPHANS.items():
        assert rows(store, sql) == [(0,)], name


def test_deleting_and_renaming_files_leaves_no_orphans(workspace_dir: Path, run_index) -> None:
    run_index(workspace_dir)
    (workspace_dir / "src" / "utils.py").unlink()
    shutil.move(workspace_dir / "notes" / "design.md", workspace_dir / "notes" / "principles.md")
    report, workspace = run_index(workspace_dir)
    assert report.files_deleted == 2 and report.files_indexed == 1
    assert report.chunks_embedded == 0, "a renamed file's chunks come from the embedding cache"
    store = SqliteStore(workspace.store_path)
    paths = {r[0] for r in rows(store, "SELECT rel_path FROM files")}
    assert "src/utils.py" not in paths and "notes/principles.md" in paths
    assert rows(store, "SELECT COUNT(*) FROM symbols WHERE name = 'read_lines'") == [(0,)]
    assert_no_orphans(store)


def test_a_file_that_becomes_ignored_is_removed(workspace_dir: Path, run_index) -> None:
    run_index(workspace_dir)
    (workspace_dir / ".localmindignore").write_text("docs/\n")
    _, workspace = run_index(workspace_dir)
    store = SqliteStore(workspace.store_path)
    assert rows(store, "SELECT COUNT(*) FROM files WHERE rel_path LIKE 'docs/%'") == [(0,)]
    assert_no_orphans(store)


def test_two_roots_form_one_workspace_with_distinct_files(tmp_path: Path, run_index) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for root, text in ((first, "Notes about apples."), (second, "Notes about pears.")):
        root.mkdir()
        (root / "notes.md").write_text(f"# Fruit\n\n{text}\n")
    (second / "code.py").write_text("def parse_config():\n    return {}\n")
    (first / "usage.md").write_text("Call `parse_config` to load settings.\n")
    report, workspace = run_index(first, second)
    store = SqliteStore(workspace.store_path)
    assert report.files_indexed == 4
    assert {(Path(str(r)).name, str(p)) for r, p in rows(store, "SELECT root, rel_path FROM files")} == {
        ("one", "notes.md"),
        ("one", "usage.md"),
        ("two", "notes.md"),
        ("two", "code.py"),
    }
    assert rows(store, "SELECT COUNT(*) FROM edges WHERE kind = 'MENTIONS'") == [(1,)]


def test_chunk_size_above_the_models_length_is_a_clear_error(fp32: OnnxEmbedder, tmp_path: Path) -> None:
    settings = IndexingSettings(chunk_tokens=300, data_dir=tmp_path)
    workspace = open_workspace([tmp_path], settings)
    with pytest.raises(ConfigError, match=r"indexing\.chunk_tokens \(300\).*256"):
        Indexer(workspace, settings, fp32)


def test_chunks_respect_the_token_budget(indexed: Indexed) -> None:
    _, store = indexed
    [(largest,)] = rows(store, "SELECT MAX(token_count) FROM chunks")
    assert 0 < int(largest) <= 200


def test_a_store_from_a_newer_local_mind_is_refused(workspace_dir: Path, run_index) -> None:
    _, workspace = run_index(workspace_dir)
    store = SqliteStore(workspace.store_path)
    store.set_meta("schema_version", "99")
    store.close()
    with pytest.raises(StoreError, match="newer Local Mind"):
        SqliteStore(workspace.store_path)


def test_a_store_from_an_older_local_mind_is_rebuilt(workspace_dir: Path, run_index) -> None:
    _, workspace = run_index(workspace_dir)
    store = SqliteStore(workspace.store_path)
    store.set_meta("schema_version", "0")
    store.close()
    reopened = SqliteStore(workspace.store_path)
    assert reopened.rebuilt_from_older
    assert rows(reopened, "SELECT COUNT(*) FROM files") == [(0,)]
    reopened.close()
    report, _ = run_index(workspace_dir)
    assert report.files_indexed == len(INDEXED)


def test_a_reader_opens_the_store_while_a_writer_holds_it(workspace_dir: Path, run_index) -> None:
    _, workspace = run_index(workspace_dir)
    writer = SqliteStore(workspace.store_path)
    with writer.transaction():
        reader = SqliteStore(workspace.store_path)  # Would wait out the busy timeout if opening wrote.
        assert reader.query("SELECT COUNT(*) FROM files") == [(len(INDEXED),)]
        reader.close()
    writer.close()


def test_a_full_disk_is_a_clear_error_and_the_next_run_recovers(
    workspace_dir: Path, run_index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed before (issue #17, finding 8): a raw sqlite3 traceback, and the run left marked as running.
    SQLite's max_page_count makes the store full for real: writes fail with SQLITE_FULL."""
    _, workspace = run_index(workspace_dir)  # The store exists; now make room for little more.
    store = SqliteStore(workspace.store_path)
    [(pages,)] = rows(store, "PRAGMA page_count")
    store.close()

    class FullStore(SqliteStore):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._db.execute(f"PRAGMA max_page_count = {int(pages) + 2}")  # type: ignore[call-overload]

    monkeypatch.setattr("localmind.indexing.pipeline.SqliteStore", FullStore)
    for index in range(40):
        (workspace_dir / "notes" / f"extra-{index}.md").write_text(f"# Extra {index}\n\n" + "More words. " * 400)
    expected = r"has no space left.*free space and run again: nothing indexed so far is lost"
    with pytest.raises(StoreError, match=expected):
        run_index(workspace_dir)
    monkeypatch.undo()
    report, _ = run_index(workspace_dir)
    assert report.files_indexed >= 40
    store = SqliteStore(workspace.store_path)
    statuses = [status for (status,) in rows(store, "SELECT status FROM runs ORDER BY id")]
    assert "running" not in statuses and statuses[-1] == "done"
    assert rows(store, "SELECT COUNT(*) FROM files WHERE rel_path LIKE 'notes/extra-%'") == [(40,)]
