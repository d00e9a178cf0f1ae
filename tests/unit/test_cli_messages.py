"""What the command line says for the edge cases a new user meets: a misspelled environment section, a
missing folder or file, an empty query, a table in a pipe, Ctrl-C and SIGTERM during an index run."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from localmind import cli
from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer, Progress
from localmind.indexing.workspace import open_workspace
from tests.indexing.test_crash_safety import files_in_store, index_command, make_corpus, store_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_misspelled_environment_section_or_key_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCALMIND_EMBEDINGS__VARIANT", "int8")
    code, _, err = run(["status"], capsys)
    assert code == 2 and "LOCALMIND_EMBEDINGS__VARIANT" in err and "no settings section 'embedings'" in err
    monkeypatch.delenv("LOCALMIND_EMBEDINGS__VARIANT")
    monkeypatch.setenv("LOCALMIND_EMBEDDINGS__VARAINT", "int8")
    code, _, err = run(["status"], capsys)
    assert code == 2 and "the embeddings section has no setting 'varaint'" in err


def test_missing_folders_files_and_empty_queries_say_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "does-not-exist"
    code, _, err = run(["status", str(missing)], capsys)
    assert code == 2 and "no such folder" in err and "localmind index" not in err
    code, _, err = run(["summarize", str(missing / "notes.md")], capsys)
    assert code == 2 and "no such file" in err
    code, _, err = run(["index", str(missing)], capsys)
    assert code == 2 and "not a folder" in err
    code, _, err = run(["search", "   "], capsys)
    assert code == 2 and "the query is empty" in err


def test_models_list_in_a_pipe_keeps_whole_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["models", "list"], capsys)
    assert code == 0 and "all-MiniLM-L6-v2 (default)" in out and "…" not in out


def last_run_status(store: Path) -> str:
    with sqlite3.connect(store) as db:
        return str(db.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])


def test_ctrl_c_records_the_run_as_cancelled(tmp_path: Path, fp32: OnnxEmbedder) -> None:
    root = tmp_path / "corpus"
    make_corpus(root, files=20)
    settings = IndexingSettings(data_dir=tmp_path / "data")
    workspace = open_workspace([root], settings)

    def interrupt(event: Progress) -> None:
        if event.files_done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Indexer(workspace, settings, fp32, interrupt).run()
    assert last_run_status(workspace.store_path) == "cancelled"


def test_sigterm_records_the_run_as_terminated(tmp_path: Path, model_cache: Path, fp32: OnnxEmbedder) -> None:
    root, data = tmp_path / "corpus", tmp_path / "data"
    make_corpus(root, files=140)
    command, env = index_command(root, data, model_cache)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and files_in_store(data) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    path = store_path(data)
    assert path is not None and last_run_status(path) == "terminated"
