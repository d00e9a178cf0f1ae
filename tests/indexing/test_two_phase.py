"""Two-phase indexing: every file answers to words and the graph once phase 1 ends; phase 2 embeds the
pending chunks (open files first, then the most recently modified), a step at a time, and a pass that gives
way or is killed leaves the rest for the next one, which converges to the store a single pass makes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from localmind import cli
from localmind.config import IndexingSettings, RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing import pipeline
from localmind.indexing.pipeline import Indexer, IndexReport, Progress
from localmind.indexing.workspace import Workspace, open_workspace
from localmind.retrieval import Searcher, parse_query
from localmind.stores.sqlite_store import SqliteStore

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, folder)
    # The note is the newest file, and holds a word no other file has.
    (folder / "notes" / "zebra.md").write_text("# Zebra crossing\n\nThe quagga protocol retires old tokens.\n")
    for number, path in enumerate(sorted(p for p in folder.rglob("*") if p.is_file())):
        stamp = 1_700_000_000 + number
        os.utime(path, (stamp, stamp))
    newest = 1_800_000_000
    os.utime(folder / "notes" / "zebra.md", (newest, newest))
    return folder


def indexer_for(
    root: Path, data: Path, embedder: OnnxEmbedder, steps: int | None = None, **kwargs: object
) -> tuple[Indexer, Workspace]:
    """An indexer whose phase 2 gives way after `steps` steps (never when None)."""
    settings = IndexingSettings(data_dir=data)
    workspace = open_workspace([root], settings)
    taken = [0]

    def should_yield() -> bool:
        taken[0] += 1
        return steps is not None and taken[0] > steps

    return Indexer(workspace, settings, embedder, should_yield=should_yield, **kwargs), workspace  # type: ignore[arg-type]


def counts(store: SqliteStore) -> tuple[int, int, int]:
    stats = store.stats()
    return int(stats["chunks"]), int(stats["vectors"]), int(stats["pending_vectors"])  # type: ignore[call-overload]


def embedded_files(store: SqliteStore) -> set[str]:
    rows = store.query("SELECT DISTINCT f.rel_path FROM vectors v JOIN files f ON f.id = v.file_id")
    return {str(row[0]) for row in rows}


def test_after_phase_one_words_answer_and_the_missing_meaning_is_said(
    root: Path, tmp_path: Path, fp32: OnnxEmbedder
) -> None:
    indexer, workspace = indexer_for(root, tmp_path / "data", fp32, steps=0)
    report = indexer.run()
    store = SqliteStore(workspace.store_path)
    searcher = Searcher(store, fp32, RetrievalSettings())
    try:
        chunks, vectors, pending = counts(store)
        assert chunks > 0 and vectors == 0 and pending == chunks == report.pending_left
        assert store.stats()["dense_coverage"] == 0.0
        hits = searcher.search(parse_query(query="quagga"))
        assert hits and hits[0].path == "notes/zebra.md" and hits[0].provenance == "lexical"
        assert "embedding" in searcher.left_out() and "0%" in searcher.left_out()["embedding"][0]
        indexer_for(root, tmp_path / "data", fp32)[0].run()
        assert counts(store)[2] == 0 and store.stats()["dense_coverage"] == 1.0
        assert "embedding" not in searcher.left_out()
        assert "dense" in searcher.search(parse_query(query="quagga"))[0].provenance
    finally:
        searcher.close()
        store.close()


def test_open_files_are_embedded_first_then_the_newest(
    root: Path, tmp_path: Path, fp32: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "_CHUNKS_PER_STEP", 1)
    opened = root / "src" / "config_loader.py"
    indexer, workspace = indexer_for(root, tmp_path / "data", fp32, steps=1, open_files=lambda: [opened])
    indexer.run()
    store = SqliteStore(workspace.store_path)
    try:
        assert embedded_files(store) == {"src/config_loader.py"}
    finally:
        store.close()
    indexer_for(root, tmp_path / "other", fp32, steps=1)[0].run()
    store = SqliteStore(open_workspace([root], IndexingSettings(data_dir=tmp_path / "other")).store_path)
    try:
        assert embedded_files(store) == {"notes/zebra.md"}  # The most recently modified file.
    finally:
        store.close()


def vectors_of(path: Path) -> dict[str, np.ndarray]:
    store = SqliteStore(path)
    try:
        rows = store.query("SELECT chunk_id, vector FROM vectors")
        return {str(chunk): np.frombuffer(blob, np.float32) for chunk, blob in rows}  # type: ignore[arg-type]
    finally:
        store.close()


def test_a_pass_that_stops_in_phase_two_is_finished_by_the_next(
    root: Path, tmp_path: Path, fp32: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "_CHUNKS_PER_STEP", 3)
    interrupted, workspace = indexer_for(root, tmp_path / "a", fp32, steps=2)
    first = interrupted.run()
    assert first.pending_left > 0 and first.chunks_embedded == 6
    (root / "notes" / "zebra.md").write_text("# Zebra crossing\n\nThe quagga protocol now keeps old tokens.\n")
    second = indexer_for(root, tmp_path / "a", fp32)[0].run()
    assert second.files_indexed == 1 and second.pending_left == 0
    clean = indexer_for(root, tmp_path / "b", fp32)[0].run()
    assert clean.pending_left == 0
    resumed, fresh = (
        vectors_of(workspace.store_path),
        vectors_of(open_workspace([root], IndexingSettings(data_dir=tmp_path / "b")).store_path),
    )
    assert resumed.keys() == fresh.keys()
    for chunk, vector in fresh.items():
        assert float(vector @ resumed[chunk]) > 0.9999


def test_progress_reports_both_phases_in_order(root: Path, tmp_path: Path, fp32: OnnxEmbedder) -> None:
    events: list[Progress] = []
    report: IndexReport = indexer_for(root, tmp_path / "data", fp32, progress=events.append)[0].run()
    phases = [event.phase for event in events]
    assert phases[0] == "indexing" and phases[-1] == "embedding"
    assert phases == sorted(phases, key=lambda phase: phase == "embedding")  # No file event after embedding began.
    embedding = [event for event in events if event.phase == "embedding"]
    # Phase 2 is announced as it begins (clients tell the user every file is searchable), before its first step.
    assert (embedding[0].embedded, embedding[0].to_embed) == (0, report.chunks_written)
    # Each phase keeps its own clock for the time-left estimate: phase 2's starts when phase 2 does.
    assert embedding[0].phase_seconds < embedding[0].elapsed, "phase 2 is not timed from the run's start"
    assert all(event.phase_seconds <= event.elapsed for event in events)
    assert [e.embedded for e in embedding] == sorted(e.embedded for e in embedding)
    assert embedding[-1].embedded == embedding[-1].to_embed == report.chunks_written
    assert 0 < report.searchable_seconds < report.seconds


def test_vector_backends_hear_of_a_file_only_once_it_is_whole(tmp_path: Path, fp32: OnnxEmbedder, root: Path) -> None:
    settings = IndexingSettings(data_dir=tmp_path / "data")
    workspace = open_workspace([root], settings)
    indexer = Indexer(workspace, settings, fp32, should_yield=lambda: True)
    store = SqliteStore(workspace.store_path, journal_backends=("neo4j", "milvus"))
    try:
        indexer._run(store)
        files = int(store.stats()["files"])  # type: ignore[call-overload]
        assert store.outbox_counts() == {"neo4j": files}
        # What the graph backend is sent meanwhile: the whole file, its vectors marked as still to come.
        _, file_id, _ = store.pending("neo4j", 1)[0]
        update = store.load_update(file_id)
        assert update is not None and update.chunks and set(update.pending) == {c.id for c in update.chunks}
        assert len(update.vectors) == len(update.chunks)
        step = store.pending_vectors(1000)
        store.write_vectors(fp32.model_id, [(item, np.ones(fp32.dimensions, np.float32)) for item in step])
        assert store.outbox_counts() == {"neo4j": files, "milvus": files}
    finally:
        store.close()


def test_the_command_line_reports_both_phases_and_the_coverage(
    root: Path, tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCALMIND_INDEXING__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOCALMIND_EMBEDDINGS__CACHE_DIR", str(model_cache))
    assert cli.main(["index", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 < report["searchable_seconds"] <= report["seconds"]
    assert report["embedding_seconds"] == pytest.approx(report["seconds"] - report["searchable_seconds"], abs=0.002)
    assert cli.main(["status", str(root), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["dense_coverage"] == 1.0 and status["pending_vectors"] == 0


def test_phase_one_reports_files_as_they_are_written_not_per_batch(
    root: Path, tmp_path: Path, fp32: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "_FILE_PROGRESS_INTERVAL_S", 0.0)  # Every file, so the count is exact.
    events: list[Progress] = []
    report = indexer_for(root, tmp_path / "data", fp32, progress=events.append)[0].run()
    done = [event.files_done for event in events if event.phase == "indexing"]
    assert report.files_indexed < pipeline._FILES_PER_BATCH, "one batch: per-batch progress would say 0, then all"
    assert done == sorted(done)
    assert set(range(1, report.files_indexed + 1)) <= set(done)
