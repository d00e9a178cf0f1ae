"""The degradation matrix at the search level: whichever backend fails (graph, vectors, embedder), search
answers from the remaining signals, names what it left out, and recovers when the backend does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localmind.config import BackendPolicy, IndexingSettings, RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.workspace import open_workspace
from localmind.resilience import BackendGuard, CircuitOpen, Guarded, State
from localmind.retrieval import Searcher, parse_query
from localmind.stores.embedded_vectors import EmbeddedVectorIndex
from localmind.stores.sqlite_graph import SqliteGraph
from localmind.stores.sqlite_store import SqliteStore

QUESTION = "where is parse_config defined"


class Switch:
    """A backend that fails while `down` is set, else forwards to the real one."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.down = False
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.down:
                raise ConnectionRefusedError(f"{name}: connection refused")
            return attribute(*args, **kwargs)

        return call


class PerThread:
    """An embedded adapter opened once per thread: the guard calls backends on its own worker threads,
    and a SQLite connection belongs to the thread that opened it."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        if not hasattr(self.local, "target"):
            self.local.target = self.factory()
        return getattr(self.local.target, name)


@pytest.fixture(scope="module")
def store_path(fixture_root: Path, fp32: OnnxEmbedder, indexing_settings: IndexingSettings) -> Path:
    workspace = open_workspace([fixture_root], indexing_settings)
    Indexer(workspace, indexing_settings, fp32).run()
    return workspace.store_path


@pytest.fixture()
def parts(store_path: Path, fp32: OnnxEmbedder) -> Iterator[dict[str, Any]]:
    policy = BackendPolicy(retries=0, failure_threshold=2, reset_timeout=60)
    switches = {
        "graph": Switch(PerThread(lambda: SqliteGraph(SqliteStore(store_path)))),
        "vectors": Switch(
            PerThread(lambda: EmbeddedVectorIndex(SqliteStore(store_path), fp32.model_id, fp32.dimensions))
        ),
        "embedder": Switch(fp32),
    }
    guards = {role: BackendGuard(role, policy) for role in switches}
    guarded = {role: Guarded(switches[role], guards[role], plain=("model_id", "dimensions")) for role in switches}
    # The graph walk weighted as a ranked signal, so that every query calls the graph backend.
    settings = RetrievalSettings(weight_graph=0.5)
    searcher = Searcher(SqliteStore(store_path), guarded["embedder"], settings, guarded["graph"], guarded["vectors"])
    yield {"searcher": searcher, "switches": switches, "guards": guards}
    searcher.close()
    searcher.store.close()


@pytest.mark.parametrize(("down", "missing_signal"), [("graph", "graph"), ("vectors", "dense"), ("embedder", "dense")])
def test_search_answers_without_the_failing_backend(parts: dict[str, Any], down: str, missing_signal: str) -> None:
    searcher: Searcher = parts["searcher"]
    healthy = searcher.search(parse_query(query=QUESTION, k=5))
    assert healthy and healthy[0].path == "src/config_loader.py"
    parts["switches"][down].down = True
    query = parse_query(query=QUESTION, k=5)
    rankings = searcher.rankings(query, None)
    assert missing_signal not in rankings and "lexical" in rankings
    degraded = searcher.search(query)
    assert "src/config_loader.py" in [hit.path for hit in degraded]  # The other signals still find it.
    assert set(searcher.unavailable) == {down}
    assert "connection refused" in searcher.unavailable[down][0]


def test_the_breaker_stops_calling_a_dead_backend_and_search_recovers(parts: dict[str, Any]) -> None:
    searcher: Searcher = parts["searcher"]
    graph, guard = parts["switches"]["graph"], parts["guards"]["graph"]
    graph.down = True
    for _ in range(2):
        searcher.search(parse_query(query=QUESTION))
    assert guard.breaker.state is State.OPEN
    calls = graph.calls
    searcher.search(parse_query(query=QUESTION))
    assert graph.calls == calls  # Refused by the breaker: the dead backend was not called.
    assert "circuit open" in searcher.unavailable["graph"][0]
    graph.down = False
    guard.breaker._opened_at -= 60  # The cool-down has passed: the next search is the half-open trial.
    with pytest.raises(CircuitOpen):
        guard.breaker.before_call()
        guard.breaker.before_call()  # Only one trial at a time.
    guard.breaker.on_abandon()
    results = searcher.search(parse_query(query=QUESTION))
    assert results and guard.breaker.state is State.CLOSED
    assert "graph" not in searcher.unavailable
