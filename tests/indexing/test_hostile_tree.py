"""A workspace full of odd files: the run finishes, indexes the rest, and reports each skip with its reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localmind.stores.sqlite_store import SqliteStore

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
ODD_NAMES = ["with space.md", "quote'\"s.md", "new\nline.md", "ünïcödé 名前.md", "'); DROP TABLE chunks; --.md"]


@pytest.fixture()
def hostile(tmp_path: Path) -> Path:
    root = tmp_path / "hostile"
    root.mkdir()
    (root / "invalid-utf8.txt").write_bytes(b"caf\xe9 au lait and \xff\xfe stray bytes in a note about coffee\n")
    (root / "nul-bytes.md").write_bytes(b"# Title\n\x00\x00\x00 binary-ish\n")
    (root / "empty.md").write_bytes(b"")
    with (root / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (root / "long-line.txt").write_text("word " * 40_000 + "\nthe end of the long line file\n")
    (root / "loop").mkdir()
    (root / "loop" / "again").symlink_to(root / "loop")
    (root / "outside").symlink_to("/etc")
    (root / "dangling").symlink_to(root / "does-not-exist")
    os.mkfifo(root / "a-fifo")
    (root / "image.md").write_bytes(PNG + bytes(range(256)) * 4)
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n")
    for name in ODD_NAMES:
        (root / name).write_text(f"# {name!r}\n\nA note with an odd file name.\n")
    (root / "fine.md").write_text("# Fine\n\nAn ordinary note among odd ones.\n")
    return root


def test_the_run_finishes_and_reports_every_skip(hostile: Path, run_index) -> None:
    report, workspace = run_index(hostile)
    store = SqliteStore(workspace.store_path)
    indexed = {str(r[0]) for r in store.query("SELECT rel_path FROM files")}
    skipped = {str(p): str(r) for p, r in store.query("SELECT rel_path, reason FROM skipped")}

    assert {"invalid-utf8.txt", "empty.md", "long-line.txt", "fine.md", *ODD_NAMES} <= indexed
    assert skipped["huge.txt"].startswith("too large")
    assert skipped["nul-bytes.md"].startswith("binary")
    assert skipped["image.md"].startswith("binary")
    assert skipped["outside/"] == "symlink outside root"
    assert skipped["loop/again/"] == "symlink loop"
    assert skipped["a-fifo"] == "not a regular file"
    assert skipped["broken.pdf"].startswith("unparseable")
    assert "dangling" in skipped
    assert set(indexed).isdisjoint(skipped)
    assert report.files_indexed == len(indexed)


def test_hostile_names_are_stored_as_data(hostile: Path, run_index) -> None:
    _, workspace = run_index(hostile)
    store = SqliteStore(workspace.store_path)
    assert store.query("SELECT COUNT(*) FROM chunks")[0][0] > 0, "the chunks table survived the file name"
    [(text,)] = store.query(
        "SELECT c.text FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel_path = ?",
        ("'); DROP TABLE chunks; --.md",),
    )
    assert "odd file name" in str(text)


def test_undecodable_bytes_are_replaced_and_the_rest_is_searchable(hostile: Path, run_index) -> None:
    _, workspace = run_index(hostile)
    store = SqliteStore(workspace.store_path)
    [(text,)] = store.query(
        "SELECT c.text FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel_path = 'invalid-utf8.txt'"
    )
    assert "stray bytes in a note about coffee" in str(text)
    assert store.query("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'coffee'") == [(1,)]


def test_the_long_line_file_is_chunked_with_exact_ranges(hostile: Path, run_index) -> None:
    _, workspace = run_index(hostile)
    store = SqliteStore(workspace.store_path)
    chunks = store.query(
        "SELECT c.text, c.start_line, c.start_char, c.end_line, c.end_char FROM chunks c "
        "JOIN files f ON f.id = c.file_id WHERE f.rel_path = 'long-line.txt' ORDER BY c.ordinal"
    )
    assert len(chunks) > 100
    line = (hostile / "long-line.txt").read_text().split("\n")[0]
    for text, start_line, start_char, end_line, end_char in chunks[:-1]:
        assert (start_line, end_line) == (0, 0)
        assert line[int(start_char) : int(end_char)] == text
