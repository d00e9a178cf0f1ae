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
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from localmind.chat.conversations import Conversations
from localmind.config import Settings
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.indexing.pipeline import IndexCancelled, Indexer, IndexReport, Progress, replay_outbox
from localmind.indexing.workspace import Workspace, open_workspace
from localmind.observability import metrics
from localmind.observability.context import bound, carry, new_correlation_id
from localmind.resilience import Attempted, Guarded, Resilience, State, Transition, within
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


def open_remote_backends(
    settings: Settings, workspace: Workspace, embedder: OnnxEmbedder, resilience: Resilience | None = None
) -> RemoteBackends:
    """Neo4j and Milvus adapters when selected, each opened on first use (so a server that is down does
    not stop indexing or search); their modules and drivers load only then. With `resilience`, every
    call (opening included) goes through the backend's guard: timeout, retries, circuit breaker."""
    backends = RemoteBackends()
    if settings.graph.backend == "neo4j":
        settings.graph.resolved_password()  # A missing password is a configuration error, reported now.

        def open_graph() -> GraphStore:
            from localmind.stores.neo4j_graph import Neo4jGraph

            return Neo4jGraph(settings.graph, workspace.key)

        backends.graph = cast(GraphStore, _guarded(Deferred("neo4j", open_graph), "neo4j", resilience))
    if settings.vectors.backend == "milvus":

        def open_vectors() -> VectorStore:
            from localmind.observability.logs import adopt_library_logs
            from localmind.stores.milvus_vectors import MilvusVectors

            adopt_library_logs()  # pymilvus installs stderr handlers of its own on import.

            return MilvusVectors(settings.vectors, workspace.key, embedder.model_id, embedder.dimensions)

        backends.vectors = cast(VectorStore, _guarded(Deferred("milvus", open_vectors), "milvus", resilience))
    return backends


def _guarded(backend: Deferred, name: str, resilience: Resilience | None) -> Any:
    return backend if resilience is None else Guarded(backend, resilience.guard(name))


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
        self.resilience = Resilience(settings.resilience)
        self.resilience.listeners.append(self._on_breaker_change)
        self._replaying = threading.Event()  # Set while a replay waits for or runs on the indexing thread.
        self._stop = threading.Event()
        self._replay_thread: threading.Thread | None = None

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.workspace.roots

    def embedder(self) -> OnnxEmbedder:
        """The process's embedder for these settings; the first call may build the model."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    def guarded_embedder(self) -> OnnxEmbedder:
        """The embedder with its calls (query embeddings) behind the embedder's breaker. They run on the
        caller's thread: the embedder is local work that a timeout could not interrupt, and a hop to
        another thread would cost every search two more turns of the GIL while indexing runs."""
        embedder = self.embedder()
        guard = self.resilience.guard("embedder")
        return cast(OnnxEmbedder, Attempted(embedder, guard, plain=_EMBEDDER_VALUES))

    def remote(self) -> RemoteBackends:
        """The selected server backends, opened on first use (none with the embedded defaults)."""
        embedder = self.embedder()
        with self._embedder_lock:
            if self._remote is None:
                self._remote = open_remote_backends(self.settings, self.workspace, embedder, self.resilience)
                if self._remote.sinks:
                    self._start_replay_loop()
            return self._remote

    # Reads -----------------------------------------------------------------------------------------

    def read(self, work: Callable[[Readers], T], budget: float | None = None) -> Future[T]:
        """Run work on the reader thread with its searcher and navigator. Backend calls it makes end
        within `budget` seconds of its start (each backend's own timeout otherwise)."""
        return self._reader.submit(carry(self._with_readers), work, budget)

    def _with_readers(self, work: Callable[[Readers], T], budget: float | None = None) -> T:
        if self._readers is None:
            store_path = self.workspace.store_path
            remote = self.remote()
            searcher = Searcher(
                store_path, self.guarded_embedder(), self.settings.retrieval, remote.graph, remote.vectors
            )
            self._readers = Readers(searcher, Navigator(store_path))
        with within(budget):
            return work(self._readers)

    # Indexing --------------------------------------------------------------------------------------

    def index(self, on_progress: Callable[[Progress], None], cancelled: Callable[[], bool]) -> Future[IndexReport]:
        """One incremental pass on the indexing thread; `cancelled` is polled after every batch of files."""
        metrics.INDEX_QUEUE_DEPTH.inc()
        return self._indexer.submit(carry(self._index), on_progress, cancelled)

    def _index_embedder(self) -> OnnxEmbedder:
        """The indexing thread's own session, created on that thread after it lowered its priority, so
        ONNX Runtime's worker threads inherit the lower priority and a request never waits behind a batch."""
        _lower_thread_priority()
        embedder = load_embedder(self.settings, purpose="index")
        guard = self.resilience.guard("embedder")
        return cast(OnnxEmbedder, Attempted(embedder, guard, plain=_EMBEDDER_VALUES))

    def _index(self, on_progress: Callable[[Progress], None], cancelled: Callable[[], bool]) -> IndexReport:
        metrics.INDEX_QUEUE_DEPTH.dec()
        with bound(correlation=new_correlation_id()):
            return self._index_run(on_progress, cancelled)

    def _index_run(self, on_progress: Callable[[Progress], None], cancelled: Callable[[], bool]) -> IndexReport:
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
            metrics.CHUNKS_INDEXED.inc(report.chunks_written)
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
            "backends": (backends := self._backends_status(readers)),
            "breakers": self.resilience.snapshot(),
            "health": "degraded" if _degraded(backends) else "ok",
            "summary": self._summary(backends, readers),
        }

    def _backends_status(self, readers: Readers) -> dict[str, dict[str, Any]]:
        """Each backend's kind and state. A backend is degraded while its breaker is not closed, while
        search leaves out its signal, or while its outbox could not be delivered."""
        pending = readers.searcher.store.outbox_counts()
        drain = self.index_state.last_drain
        llm = "openai-compatible" if self.settings.llm.base_url else "none (extractive answers)"
        status: dict[str, dict[str, Any]] = {
            "graph": {"backend": self.settings.graph.backend, "state": "ok"},
            "vectors": {"backend": self.settings.vectors.backend, "state": "ok"},
            "embedder": {"backend": "onnxruntime", "state": "ok"},
            "llm": {"backend": llm, "state": "ok"},
        }
        breakers = self.resilience.snapshot()
        for role, name in _GUARD_OF_ROLE.items():
            entry = status[role]
            if role in ("graph", "vectors") and entry["backend"] != name:
                continue
            if role in ("graph", "vectors"):
                entry["pending"] = pending.get(name, 0)
            breaker = breakers.get(name)
            if breaker is not None and breaker["state"] != State.CLOSED:
                _mark_degraded(entry, breaker["since"], breaker["last_error"], breaker["state"])
            elif role in readers.searcher.unavailable:
                error, since = readers.searcher.unavailable[role]
                _mark_degraded(entry, since, error)
            elif drain is not None and name in drain.failed and entry.get("pending"):
                _mark_degraded(entry, self.index_state.finished_at or time.time(), drain.failed[name])
        return status

    def _summary(self, backends: dict[str, dict[str, Any]], readers: Readers) -> str:
        """One line for a status bar: degraded (which backend, since when), indexing (how far), or ready."""
        degraded = [
            f"{role} unavailable since {time.strftime('%H:%M', time.localtime(entry['since_epoch']))}"
            for role, entry in backends.items()
            if entry["state"] == "degraded"
        ]
        if degraded:
            return "degraded: " + ", ".join(degraded)
        state = self.index_state
        if state.running:
            percent = int(100 * state.files_done / state.files_total) if state.files_total else 0
            return f"indexing {percent}%"
        return f"ready: {readers.searcher.store.stats().get('chunks', 0)} chunks"

    def _on_breaker_change(self, transition: Transition) -> None:
        """A closed breaker means its backend answers again: search stops reporting its signal as missing."""
        readers = self._readers
        if transition.new is State.CLOSED and readers is not None:
            role = next((role for role, name in _GUARD_OF_ROLE.items() if name == transition.backend), None)
            readers.searcher.unavailable.pop(role or "", None)

    # Replaying the outbox after an outage ------------------------------------------------------------------

    def _start_replay_loop(self) -> None:
        """A thread that, every few seconds, asks the indexing thread to replay whatever the outbox holds:
        after an outage the backend's breaker lets a trial through, and the journal drains by itself."""
        policies = [self.settings.resilience.neo4j, self.settings.resilience.milvus]
        interval = min(30.0, max(1.0, min(policy.reset_timeout for policy in policies)))
        self._replay_thread = threading.Thread(
            target=self._replay_loop, args=(interval,), name="localmind-replay", daemon=True
        )
        self._replay_thread.start()

    def _replay_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self.index_state.running or self._replaying.is_set():
                continue
            self._replaying.set()
            try:
                self._indexer.submit(carry(self._replay))
            except RuntimeError:  # Shut down.
                return

    def _replay(self) -> None:
        try:
            with bound(correlation=new_correlation_id()):
                report = replay_outbox(self.workspace, self.remote().sinks)
            if report is not None:
                self.index_state.last_drain = report
                self.index_state.finished_at = time.time()
                log.info("outbox replay: applied %s, pending %s", report.applied, report.pending)
        except Exception:
            log.exception("outbox replay failed")
        finally:
            self._replaying.clear()

    def close(self) -> None:
        """Stop both threads after their current work and close the reader's connections."""
        self._stop.set()
        self._indexer.shutdown(wait=True, cancel_futures=True)
        if self._readers is not None:
            self._reader.submit(self._close_readers).result()
        self._reader.shutdown(wait=True, cancel_futures=True)
        if self._remote is not None:
            self._remote.close()
        self.resilience.close()

    def _close_readers(self) -> None:
        if self._readers is not None:
            self._readers.searcher.close()
            self._readers.navigator.close()
            self._readers = None


# Attributes of the embedder that are plain values, read without the guard.
_EMBEDDER_VALUES = (
    "model_id",
    "dimensions",
    "provider",
    "provider_reason",
    "max_tokens",
    "tokenizer",
    "variant",
    "batch_size",
)
# The guard that protects each role's backend.
_GUARD_OF_ROLE = {"graph": "neo4j", "vectors": "milvus", "embedder": "embedder", "llm": "llm"}


def _mark_degraded(entry: dict[str, Any], since: float, error: str | None, breaker: str | None = None) -> None:
    entry.update(
        state="degraded",
        since=datetime.fromtimestamp(since).astimezone().isoformat(timespec="seconds"),
        since_epoch=since,
        error=error,
    )
    if breaker is not None:
        entry["breaker"] = breaker


def _degraded(backends: dict[str, dict[str, Any]]) -> bool:
    return any(entry["state"] == "degraded" for entry in backends.values())


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
