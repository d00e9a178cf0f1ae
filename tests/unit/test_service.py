"""`WorkspaceService` on its own, without an editor: indexing on its thread, reads on theirs, status,
cancellation, a breaker closing, and shutdown. And `status.py`'s rules over plain values."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from localmind.config import Settings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import IndexCancelled, Progress
from localmind.indexing.workspace import Workspace
from localmind.resilience import State, Transition
from localmind.retrieval import parse_query
from localmind.service import WorkspaceService
from localmind.status import IndexState, Observed, backends_status, summary
from localmind.stores.replication import DrainReport
from localmind.wiring import Components

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


@pytest.fixture()
def service(tmp_path: Path, model_cache: Path, fp32: OnnxEmbedder) -> Any:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    settings = Settings.model_validate(
        {"indexing": {"data_dir": str(tmp_path / "data")}, "embeddings": {"cache_dir": str(model_cache)}}
    )
    service = WorkspaceService([root], settings, Components.for_roots([root], settings, fp32))
    yield service
    service.close()


def index_now(service: WorkspaceService, cancelled: bool = False) -> tuple[Future[Any], list[Progress]]:
    events: list[Progress] = []
    future = service.index(events.append, lambda: cancelled)
    return future, events


def test_an_index_run_then_a_search_on_the_reader_thread(service: WorkspaceService) -> None:
    future, events = index_now(service)
    report = future.result(timeout=300)
    assert report.files_indexed > 0 and events and events[-1].files_done == events[-1].files_total

    def search(readers: Any) -> tuple[str, list[str]]:
        hits = readers.searcher.search(parse_query(query="load the configuration file"))
        return threading.current_thread().name, [hit.path for hit in hits]

    thread, paths = service.read(search).result()
    assert thread.startswith("localmind-read") and "src/config_loader.py" in paths


def test_status_reports_counts_progress_and_health(service: WorkspaceService) -> None:
    index_now(service)[0].result(timeout=300)
    status = service.status()
    assert status["index"]["chunks"] > 0 and status["summary"] == f"ready: {status['index']['chunks']} chunks"
    assert status["indexing"]["runs"] == 1 and not status["indexing"]["running"]
    assert status["health"] == "ok" and set(status["backends"]) == {"graph", "vectors", "embedder", "llm"}


def test_a_cancelled_run_stops_and_says_so(service: WorkspaceService) -> None:
    future, _ = index_now(service, cancelled=True)
    with pytest.raises(IndexCancelled):
        future.result(timeout=300)
    assert service.index_state.last_error == "indexing was cancelled" and not service.index_state.running


def test_a_closing_breaker_brings_the_signal_back(service: WorkspaceService) -> None:
    searcher = service.read(lambda readers: readers.searcher).result()
    searcher.unavailable["graph"] = ("down", time.time())
    service._on_breaker_change(Transition("neo4j", State.HALF_OPEN, State.CLOSED, "trial call succeeded", time.time()))
    assert "graph" not in searcher.unavailable


def test_after_close_no_work_is_accepted(service: WorkspaceService) -> None:
    service.close()
    with pytest.raises(RuntimeError):
        service.read(lambda readers: None)


# status.py ---------------------------------------------------------------------------------------------------


def observed(**values: Any) -> Observed:
    base: dict[str, Any] = {"stats": {"chunks": 7}, "pending": {}, "unavailable": {}, "breakers": {}}
    return Observed(**{**base, **values})


def test_an_open_breaker_marks_its_backend_degraded() -> None:
    settings = Settings.model_validate({"graph": {"backend": "neo4j", "password": "x" * 12}})
    breaker = {"state": State.OPEN, "since": 1_700_000_000.0, "last_error": "refused"}
    backends = backends_status(settings, IndexState(), observed(breakers={"neo4j": breaker}, pending={"neo4j": 3}))
    assert backends["graph"]["state"] == "degraded" and backends["graph"]["pending"] == 3
    assert backends["graph"]["error"] == "refused" and backends["vectors"]["state"] == "ok"
    assert summary(backends, IndexState(), {}).startswith("degraded: graph unavailable since ")


def test_a_left_out_signal_and_an_undelivered_outbox_are_degraded() -> None:
    settings = Settings.model_validate({"vectors": {"backend": "milvus"}})
    state = IndexState(finished_at=1_700_000_000.0, last_drain=DrainReport(failed={"milvus": "timed out"}))
    backends = backends_status(settings, state, observed(pending={"milvus": 2}))
    assert backends["vectors"]["state"] == "degraded" and backends["vectors"]["error"] == "timed out"
    left_out = backends_status(Settings(), IndexState(), observed(unavailable={"embedder": ("boom", 1.0)}))
    assert left_out["embedder"]["state"] == "degraded" and left_out["graph"]["state"] == "ok"


def test_the_summary_says_how_far_indexing_is() -> None:
    state = IndexState(running=True, files_done=1, files_total=4)
    assert summary(backends_status(Settings(), state, observed()), state, {}) == "indexing 25%"
    assert (
        summary(backends_status(Settings(), IndexState(), observed()), IndexState(), {"chunks": 7}) == "ready: 7 chunks"
    )


def test_a_path_is_located_in_its_innermost_root(tmp_path: Path) -> None:
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "sub"
    inner.mkdir(parents=True)
    workspace = Workspace((outer.resolve(), inner.resolve()), "key", tmp_path / "data")
    assert workspace.locate(inner / "notes" / "a.md") == (inner.resolve(), "notes/a.md")
    assert workspace.locate(outer / "b.py") == (outer.resolve(), "b.py")
    assert workspace.locate(tmp_path / "elsewhere.md") is None


@pytest.mark.parametrize("parse_worker", [True, False])
def test_files_are_parsed_in_a_worker_process_unless_turned_off(
    tmp_path: Path, model_cache: Path, fp32: OnnxEmbedder, parse_worker: bool
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    settings = Settings.model_validate(
        {
            "indexing": {"data_dir": str(tmp_path / "data"), "parse_worker": parse_worker},
            "embeddings": {"cache_dir": str(model_cache)},
        }
    )
    before = set(multiprocessing.active_children())
    service = WorkspaceService([root], settings, Components.for_roots([root], settings, fp32))
    try:
        report = service.index(lambda _event: None, lambda: False).result(timeout=300)
        assert report.files_indexed > 0
        workers = set(multiprocessing.active_children()) - before
        assert len(workers) == (1 if parse_worker else 0)
        [hit, *_] = service.read(lambda readers: readers.searcher.search(parse_query(query="settings"))).result()
        assert hit.path
    finally:
        service.close()
    for worker in workers:
        worker.join(10)
        assert not worker.is_alive()
