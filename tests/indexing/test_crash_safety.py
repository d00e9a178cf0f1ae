"""Kill the indexer with SIGKILL at several points; the next runs converge to the uninterrupted store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from localmind.indexing.workspace import STORE_FILE

pytestmark = pytest.mark.slow
KILL_AFTER_FILES = (0, 12, 45, 90)
TURN_TAKING_FILES = 240


def make_corpus(root: Path, files: int = 140) -> None:
    for n in range(files):
        folder = root / f"area{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        if n % 2:
            body = "\n\n".join(
                f"## Topic {n}.{k}\n\nNote {n} explains handler_{n % 11} in part {k}. " * 3 for k in range(3)
            )
            (folder / f"note{n}.md").write_text(f"# Note {n}\n\n{body}\n")
        else:
            funcs = "\n\n".join(
                f'def handler_{n}_{k}(value):\n    """Handle case {k} of file {n}."""\n    return value * {k}'
                for k in range(6)
            )
            (folder / f"module{n}.py").write_text(funcs + "\n")


def index_command(root: Path, data: Path, cache: Path) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "LOCALMIND_INDEXING__DATA_DIR": str(data),
        "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(cache),
        "LOCALMIND_EMBEDDINGS__BATCH_SIZE": "8",
    }
    return [sys.executable, "-m", "localmind.cli", "index", str(root)], env


def store_path(data: Path) -> Path | None:
    found = list(data.glob(f"workspaces/*/{STORE_FILE}"))
    return found[0] if found else None


def files_in_store(data: Path) -> int:
    path = store_path(data)
    if path is None:
        return -1
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return -1


def run_and_kill(root: Path, data: Path, cache: Path, after_files: int) -> int:
    """Start an indexer, SIGKILL it once the store holds after_files files; return the count at the kill."""
    command, env = index_command(root, data, cache)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if files_in_store(data) >= after_files:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    return files_in_store(data)


def snapshot(data: Path) -> dict[str, object]:
    path = store_path(data)
    assert path is not None
    with sqlite3.connect(path) as db:
        q = lambda sql: sorted(db.execute(sql).fetchall())  # noqa: E731
        vectors = dict(db.execute("SELECT chunk_id, vector FROM vectors").fetchall())
        return {
            "files": q("SELECT id, rel_path, content_hash, chunk_count FROM files"),
            "chunks": q("SELECT id, file_id, ordinal, text, start_line, start_char, end_line, end_char FROM chunks"),
            "symbols": q("SELECT id, chunk_id, qualified_name, start_line, end_line FROM symbols"),
            "edges": q("SELECT kind, src, dst FROM edges"),
            "fts": q("SELECT rowid FROM chunks_fts"),
            "chunk_rids": q("SELECT rid FROM chunks"),
            "vectors": {k: np.frombuffer(v, dtype=np.float32) for k, v in vectors.items()},
            "duplicate_chunks": q("SELECT id FROM chunks GROUP BY id HAVING COUNT(*) > 1"),
        }


def test_killed_runs_converge_to_the_uninterrupted_store(tmp_path: Path, model_cache: Path, embedder: object) -> None:
    root = tmp_path / "corpus"
    make_corpus(root)
    command, env = index_command(root, tmp_path / "clean", model_cache)
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    expected = snapshot(tmp_path / "clean")

    crashed = tmp_path / "crashed"
    counts = [run_and_kill(root, crashed, model_cache, after) for after in KILL_AFTER_FILES]
    print(f"files in the store at each SIGKILL: {counts} of {len(expected['files'])}")
    assert any(0 <= c < len(expected["files"]) for c in counts), "at least one kill landed mid-run"
    command, env = index_command(root, crashed, model_cache)
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    actual = snapshot(crashed)

    for key in ("files", "chunks", "symbols", "edges"):
        assert actual[key] == expected[key], key
    assert actual["duplicate_chunks"] == []
    assert actual["fts"] == actual["chunk_rids"], "one FTS row per chunk, none orphaned"
    got, want = actual["vectors"], expected["vectors"]
    assert set(got) == set(want)
    for chunk_id, vector in want.items():
        np.testing.assert_allclose(got[chunk_id], vector, atol=1e-5)


def test_two_indexers_at_once_take_turns_and_both_finish(tmp_path: Path, model_cache: Path, embedder: object) -> None:
    root = tmp_path / "corpus"
    # Enough files that the first run is still writing when the second has loaded its model (~3 s).
    make_corpus(root, files=TURN_TAKING_FILES)
    command, env = index_command(root, tmp_path / "data", model_cache)
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while files_in_store(tmp_path / "data") < 1 and first.poll() is None:
        time.sleep(0.01)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    first.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "another indexer is writing" in second.stderr
    assert f"indexed 0 files ({TURN_TAKING_FILES} unchanged" in second.stdout, "the second run found the work done"
    assert files_in_store(tmp_path / "data") == TURN_TAKING_FILES


def test_watch_mode_indexes_a_new_file(tmp_path: Path, model_cache: Path, embedder: object) -> None:
    root = tmp_path / "corpus"
    make_corpus(root, files=6)
    command, env = index_command(root, tmp_path / "data", model_cache)
    watcher = subprocess.Popen([*command, "--watch", "--json"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        assert '"files_indexed": 6' in watcher.stdout.readline()
        (root / "fresh.md").write_text("# Fresh\n\nA note about quokkas written while watching.\n")
        deadline = time.monotonic() + 60  # A deadline for the event, not a speed.
        found = False
        while time.monotonic() < deadline and not found:
            path = store_path(tmp_path / "data")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                found = bool(db.execute("SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH 'quokkas'").fetchone())
            time.sleep(0.05)
        assert found, "the watcher never indexed the new file"
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
