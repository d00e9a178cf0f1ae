"""Preparing files (read, parse, chunk, extract) in a worker process gives what preparing them here gives,
and a worker that dies costs one batch's parsing on the calling thread, nothing else."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing import ids
from localmind.indexing.pipeline import Indexer
from localmind.indexing.preparation import (
    InlinePreparer,
    Prepared,
    PrepareJob,
    PrepareSettings,
    ProcessPreparer,
)
from localmind.indexing.scanner import ScannedFile
from localmind.indexing.workspace import open_workspace
from localmind.stores.sqlite_store import SqliteStore

FILES = {
    "src/billing.py": 'class Ledger:\n    """Invoices."""\n\n    def fee(self, days):\n        return days * 2\n',
    "notes/plan.md": "---\ntitle: Plan\n---\n\n# Plan\n\nShip the ledger.\n\n## Later\n\nA key: ghp_" + "a" * 36 + "\n",
    "bin/blob.dat": "\x00\x01\x02 not text",
}


@pytest.fixture
def worker() -> Iterator[ProcessPreparer]:
    preparer = ProcessPreparer()
    yield preparer
    preparer.close()


def jobs_for(root: Path) -> list[PrepareJob]:
    for rel_path, text in FILES.items():
        (root / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (root / rel_path).write_bytes(text.encode("utf-8"))
    scanned = [ScannedFile(root, rel, root / rel, (root / rel).stat().st_size, 1) for rel in FILES]
    missing = ScannedFile(root, "gone.md", root / "gone.md", 10, 1)
    same = scanned[0]
    digest = ids.content_hash((root / same.rel_path).read_bytes())
    return [*(PrepareJob(s) for s in scanned), PrepareJob(missing), PrepareJob(same, digest, "model-a")]


def settings_for(embedder: OnnxEmbedder) -> PrepareSettings:
    return PrepareSettings(
        workspace_key="ws-key",
        model_id="model-a",
        chunk_tokens=200,
        chunk_overlap=32,
        redact_secrets=True,
        tokenizer_path=embedder.tokenizer.path,
        max_tokens=embedder.tokenizer.max_tokens,
    )


def test_the_worker_prepares_exactly_what_the_calling_thread_would(
    tmp_path: Path, fp32: OnnxEmbedder, worker: ProcessPreparer
) -> None:
    jobs, settings = jobs_for(tmp_path), settings_for(fp32)
    here = InlinePreparer(fp32.tokenizer.token_spans).prepare(jobs, settings)
    there = worker.prepare(jobs, settings)
    assert there == here
    code, note, blob, missing, same = there
    assert isinstance(code, Prepared) and [c.symbol for c in code.graph.chunks] == ["Ledger", "Ledger.fee"]
    assert isinstance(note, Prepared) and note.secrets_redacted == 1
    assert blob is not None and blob.startswith("binary")
    assert missing is not None and missing.startswith("unreadable")
    assert same is None  # Same bytes, same model: nothing to prepare.


def test_a_worker_that_dies_costs_one_batch_then_a_new_one_starts(
    tmp_path: Path, fp32: OnnxEmbedder, worker: ProcessPreparer
) -> None:
    jobs, settings = jobs_for(tmp_path), settings_for(fp32)
    assert worker.prepare(jobs, settings) is not None
    [child] = multiprocessing.active_children()
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join(10)
    assert worker.prepare(jobs, settings) is None  # The caller prepares this batch itself.
    again = worker.prepare(jobs, settings)
    assert again is not None and isinstance(again[0], Prepared)
    [new_child] = multiprocessing.active_children()
    assert new_child.pid != child.pid


def test_an_index_built_through_the_worker_equals_one_built_here(
    tmp_path: Path, workspace_dir: Path, fp32: OnnxEmbedder, worker: ProcessPreparer
) -> None:
    stores = []
    for name, parse_worker in (("here", None), ("worker", worker)):
        settings = IndexingSettings(data_dir=tmp_path / name)
        workspace = open_workspace([workspace_dir], settings)
        report = Indexer(workspace, settings, fp32, worker=parse_worker).run()
        assert report.files_indexed > 0
        stores.append(SqliteStore(workspace.store_path))
    sql = (
        "SELECT f.rel_path, c.id, c.text, c.symbol, c.start_line, c.end_line "
        "FROM chunks c JOIN files f ON f.id = c.file_id"
    )
    here, there = (sorted(store.query(sql)) for store in stores)
    assert here == there and len(here) > 10
    for store in stores:
        store.close()


def test_the_worker_writes_nothing_to_the_servers_standard_output(
    tmp_path: Path, fp32: OnnxEmbedder, worker: ProcessPreparer
) -> None:
    # Under `localmind serve` standard output is the JSON-RPC stream: the worker's fd 1 is its fd 2.
    assert worker.prepare(jobs_for(tmp_path), settings_for(fp32)) is not None
    [child] = multiprocessing.active_children()
    fds = Path(f"/proc/{child.pid}/fd")
    assert os.readlink(fds / "1") == os.readlink(fds / "2")
