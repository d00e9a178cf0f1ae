"""The one place where adapters are wired to features.

A `WorkspaceService` holds everything the editor features need for one set of workspace folders: the
settings, the embedder, the workspace's store, one reader thread and one indexing thread. The language
server (and later other front ends) call it; it knows nothing of LSP.

Reads (search, hover, navigation) run one at a time on the reader thread, which owns the store's
connection and the in-memory vector matrix, so memory does not grow with the number of threads.
Indexing runs on its own thread under the workspace's writer lock; SQLite's WAL lets reads go on
while it writes, so a request never waits for a re-index.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from localmind.chat.conversations import Conversations
from localmind.config import Settings
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.indexing.pipeline import IndexCancelled, Indexer, IndexReport, Progress
from localmind.indexing.workspace import Workspace, open_workspace
from localmind.retrieval import Searcher
from localmind.retrieval.navigation import Navigator
from localmind.stores.deferred import Deferred
from localmind.stores.ports import FileSink, GraphStore, VectorStore
from localmind.stores.replication import DrainReport

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RemoteBackends:
    """The server backends this workspace's settings select (none by default), opened once."""

    graph: GraphStore | None = None
    vectors: VectorStore | None = None

    @property
    def sinks(self) -> dict[str, FileSink]:
        """What the outbox feeds, by the names its rows carry."""
        sinks: dict[str, FileSink] = {}
        if self.graph is not None:
            sinks["neo4j"] = self.graph
        if self.vectors is not None:
            sinks["milvus"] = self.vectors
        return sinks

    def close(self) -> None:
        for backend in (self.graph, self.vectors):
            if backend is not None:
                backend.close()


def open_remote_backends(settings: Settings, workspace: Workspace, embedder: OnnxEmbedder) -> RemoteBackends:
    """Neo4j and Milvus adapters when selected, each opened on first use (so a server that is down does
    not stop indexing or search); their modules and drivers load only then."""
    backends = RemoteBackends()
    if settings.graph.backend == "neo4j":
        settings.graph.resolved_password()  # A missing password is a configuration error, reported now.

        def open_graph() -> GraphStore:
            from localmind.stores.neo4j_graph import Neo4jGraph

            return Neo4jGraph(settings.graph, workspace.key)

        backends.graph = cast(GraphStore, Deferred("neo4j", open_graph))
    if settings.vectors.backend == "milvus":

        def open_vectors() -> VectorStore:
            from localmind.stores.milvus_vectors import MilvusVectors

            return MilvusVectors(settings.vectors, workspace.key, embedder.model_id, embedder.dimensions)

        backends.vectors = cast(VectorStore, Deferred("milvus", open_vectors))
    return backends


@dataclass
class Readers:
    """The reader thread's own connections, opened on first use."""

    searcher: Searcher
    navigator: Navigator


@dataclass
class IndexState:
    """What the status command and the clients show about indexing."""

    running: bool = False
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    runs: int = 0
    last_report: dict[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    finished_at: float | None = None
    last_drain: DrainReport | None = None


class WorkspaceService:
    def __init__(self, roots: list[Path], settings: Settings) -> None:
        self.settings = settings
        self.workspace: Workspace = open_workspace(roots, settings.indexing)
        self.index_state = IndexState()
        self._embedder: OnnxEmbedder | None = None
        self._embedder_lock = threading.Lock()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localmind-read")
        self._indexer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localmind-index")
        self._readers: Readers | None = None
        self._remote: RemoteBackends | None = None
        self.conversations = Conversations()

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.workspace.roots

    def embedder(self) -> OnnxEmbedder:
        """The process's embedder for these settings; the first call may build the model."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    def remote(self) -> RemoteBackends:
        """The selected server backends, opened on first use (none with the embedded defaults)."""
        embedder = self.embedder()
        with self._embedder_lock:
            if self._remote is None:
                self._remote = open_remote_backends(self.settings, self.workspace, embedder)
            return self._remote

    # Reads -----------------------------------------------------------------------------------------

    def read(self, work: Callable[[Readers], T]) -> Future[T]:
        """Run work on the reader thread with its searcher and navigator."""
        return self._reader.submit(self._with_readers, work)

    def _with_readers(self, work: Callable[[Readers], T]) -> T:
        if self._readers is None:
            store_path = self.workspace.store_path
            remote = self.remote()
            searcher = Searcher(store_path, self.embedder(), self.settings.retrieval, remote.graph, remote.vectors)
            self._readers = Readers(searcher, Navigator(store_path))
        return work(self._readers)

    # Indexing --------------------------------------------------------------------------------------

    def index(self, on_progress: Callable[[Progress], None], cancelled: Callable[[], bool]) -> Future[IndexReport]:
        """One incremental pass on the indexing thread; `cancelled` is polled after every batch of files."""
        return self._indexer.submit(self._index, on_progress, cancelled)

    def _index_embedder(self) -> OnnxEmbedder:
        """The indexing thread's own session, created on that thread after it lowered its priority, so
        ONNX Runtime's worker threads inherit the lower priority and a request never waits behind a batch."""
        _lower_thread_priority()
        return load_embedder(self.settings, purpose="index")

    def _index(self, on_progress: Callable[[Progress], None], cancelled: Callable[[], bool]) -> IndexReport:
        state = self.index_state
        state.running, state.last_error = True, None

        def progress(event: Progress) -> None:
            state.files_done, state.files_total, state.chunks = event.files_done, event.files_total, event.chunks
            on_progress(event)
            if cancelled():
                raise IndexCancelled("indexing was cancelled")

        try:
            sinks = self.remote().sinks
            indexer = Indexer(self.workspace, self.settings.indexing, self._index_embedder(), progress, sinks)
            report = indexer.run()
            state.last_report = _report_json(report)
            state.last_drain = indexer.last_drain
            return report
        except Exception as exc:
            state.last_error = str(exc)
            raise
        finally:
            state.running, state.finished_at = False, time.time()
            state.runs += 1

    # Status ----------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Index counts, indexing progress and the health of each backend (from the reader thread)."""
        return self.read(self.status_of).result()

    def status_of(self, readers: Readers) -> dict[str, Any]:
        state = self.index_state
        embedder = self.embedder()
        return {
            "roots": [str(root) for root in self.roots],
            "store": str(self.workspace.store_path),
            "index": readers.searcher.store.stats(),
            "indexing": {
                "running": state.running,
                "files_done": state.files_done,
                "files_total": state.files_total,
                "chunks": state.chunks,
                "runs": state.runs,
                "last_report": state.last_report,
                "last_error": state.last_error,
            },
            "model": {"id": embedder.model_id, "provider": embedder.provider, "dimensions": embedder.dimensions},
            "backends": self._backends_status(readers),
            "breakers": {},
        }

    def _backends_status(self, readers: Readers) -> dict[str, dict[str, Any]]:
        """Each backend's kind and state; a server backend that failed to take its outbox is degraded."""
        pending = readers.searcher.store.outbox_counts()
        drain = self.index_state.last_drain
        status: dict[str, dict[str, Any]] = {
            "graph": {"backend": self.settings.graph.backend, "state": "ok"},
            "vectors": {"backend": self.settings.vectors.backend, "state": "ok"},
            "embedder": {"backend": "onnxruntime", "state": "ok"},
        }
        for role, name in (("graph", "neo4j"), ("vectors", "milvus")):
            if status[role]["backend"] != name:
                continue
            status[role]["pending"] = pending.get(name, 0)
            if drain is not None and name in drain.failed:
                status[role].update(state="degraded", error=drain.failed[name])
        return status

    def close(self) -> None:
        """Stop both threads after their current work and close the reader's connections."""
        self._indexer.shutdown(wait=True, cancel_futures=True)
        if self._readers is not None:
            self._reader.submit(self._close_readers).result()
        self._reader.shutdown(wait=True, cancel_futures=True)
        if self._remote is not None:
            self._remote.close()

    def _close_readers(self) -> None:
        if self._readers is not None:
            self._readers.searcher.close()
            self._readers.navigator.close()
            self._readers = None


# Linux nice value of the indexing thread and its ONNX Runtime workers: they take the cores when the
# editor is idle and give way to requests at once (CFS weight 110 against a request thread's 1024).
INDEXING_NICE = 10


def _lower_thread_priority() -> None:
    try:
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(current, INDEXING_NICE))
    except (AttributeError, OSError) as exc:  # Not Linux, or not allowed: index at normal priority.
        log.debug("indexing keeps its priority: %s", exc)


def _report_json(report: IndexReport) -> dict[str, Any]:
    return {
        "files_seen": report.files_seen,
        "files_indexed": report.files_indexed,
        "files_unchanged": report.files_unchanged,
        "files_deleted": report.files_deleted,
        "chunks_written": report.chunks_written,
        "chunks_embedded": report.chunks_embedded,
        "seconds": round(report.seconds, 3),
    }
