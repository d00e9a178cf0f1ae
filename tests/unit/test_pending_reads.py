"""The indexer steps aside for the editor's requests: PendingReads counts them, and a pass waits between files
until they are answered (bounded, so a stream of requests cannot stop indexing)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.workspace import open_workspace
from localmind.service import PendingReads


def test_nothing_pending_means_no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PendingReads, "MAX_WAIT_S", 3600.0)  # A wrongful wait would outlast the join below.
    reads = PendingReads()
    reads.started()
    reads.finished()
    waiter = threading.Thread(target=reads.wait_until_answered, daemon=True)
    waiter.start()
    waiter.join(timeout=30)
    assert not waiter.is_alive(), "the indexer waited although every read was answered"


def test_the_indexer_waits_until_the_pending_read_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PendingReads, "MAX_WAIT_S", 60.0)
    reads, order = PendingReads(), []
    reads.started()
    waited = threading.Thread(target=lambda: (reads.wait_until_answered(), order.append("indexer went on")))
    waited.start()
    waited.join(timeout=0.2)  # The indexer is still waiting: the read has not been answered.
    order.append("read answered")
    reads.finished()
    waited.join(timeout=60)
    assert order == ["read answered", "indexer went on"]


def test_a_read_that_never_ends_only_delays_the_indexer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PendingReads, "MAX_WAIT_S", 0.01)
    reads = PendingReads()
    reads.started()
    waiter = threading.Thread(target=reads.wait_until_answered)
    waiter.start()
    waiter.join(timeout=60)
    assert not waiter.is_alive(), "the wait is bounded"


def test_a_pass_gives_way_between_the_steps_of_each_file_and_each_embedding_step(
    workspace_dir: Path, tmp_path: Path, fp32: OnnxEmbedder
) -> None:
    calls: list[str] = []
    settings = IndexingSettings(data_dir=tmp_path / "data")
    workspace = open_workspace([workspace_dir], settings)
    report = Indexer(workspace, settings, fp32, give_way=lambda: calls.append("give way")).run()
    files = report.files_indexed
    assert files >= 5
    # Four times per file in phase 1 (before reading it, after parsing, after chunking, before writing it), once
    # per embedding step.
    assert len(calls) >= 4 * files + 1
