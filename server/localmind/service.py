"""The threads behind one workspace's editor features.

A `WorkspaceService` runs what the editor asks for on two threads: one reader thread (search, hover,
navigation, status), which owns its store connection and the in-memory vector matrix, so memory does not
grow with the number of threads; and one indexing thread, under the workspace's writer lock. SQLite's WAL
lets reads go on while it writes, so a request never waits for a re-index. Every object those threads use
is built by the composition root (`wiring.Components`); what status reports is computed in `status.py`.
It knows nothing of LSP.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from localmind.chat.ask import Chat
from localmind.chat.conversations import Conversations
from localmind.chat.summarize import Summarizer
from localmind.config import Settings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import IndexCancelled, IndexReport, OpenFiles, Progress, ShouldYield, replay_outbox
from localmind.indexing.preparation import ProcessPreparer
from localmind.indexing.workspace import Workspace
from localmind.observability import metrics
from localmind.observability.context import bound, carry, new_correlation_id
from localmind.resilience import Resilience, State, Transition, within
from localmind.status import IndexState, Observed, backends_status, is_degraded, role_of_guard, summary
from localmind.wiring import Components, Readers, RemoteBackends

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkspaceService:
    """One workspace's reader thread and indexing thread, over the objects its `Components` build."""

    def __init__(self, roots: list[Path], settings: Settings, components: Components | None = None) -> None:
        """`components` (built from roots and settings by default) is where every object comes from."""
        self.components = components or Components.for_roots(roots, settings)
        self.settings = self.components.settings
        self.workspace: Workspace = self.components.workspace
        self.index_state = IndexState()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localmind-read")
        self._reads = PendingReads()
        self._indexer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localmind-index")
        # Files are parsed and chunked in a process of their own, so requests never wait behind that Python.
        self._parse_worker = ProcessPreparer(INDEXING_NICE) if self.settings.indexing.parse_worker else None
        self._readers: Readers | None = None
        self._replay_started = False
        self._replay_lock = threading.Lock()
        self.conversations = Conversations()
        self.resilience.listeners.append(self._on_breaker_change)
        self._replaying = threading.Event()  # Set while a replay waits for or runs on the indexing thread.
        self._stop = threading.Event()
        self._replay_thread: threading.Thread | None = None

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.workspace.roots

    @property
    def resilience(self) -> Resilience:
        return self.components.resilience

    def embedder(self) -> OnnxEmbedder:
        """The process's embedder for these settings; the first call may build the model."""
        return self.components.embedder()

    def remote(self) -> RemoteBackends:
        """The selected server backends, opened on first use (none with the embedded defaults). With any
        selected, a replay loop starts that drains the outbox after an outage."""
        remote = self.components.remote()
        with self._replay_lock:
            if remote.sinks and not self._replay_started:
                self._replay_started = True
                self._start_replay_loop()
        return remote

    def chat(self) -> Chat:
        """Grounded chat over this workspace's conversations."""
        return self.components.chat(self.conversations)

    def summarizer(self) -> Summarizer:
        return self.components.summarizer()

    # Reads -----------------------------------------------------------------------------------------

    def read(self, work: Callable[[Readers], T], budget: float | None = None) -> Future[T]:
        """Run work on the reader thread with its searcher and navigator. Backend calls it makes end
        within `budget` seconds of its start (each backend's own timeout otherwise)."""
        self._reads.started()
        try:
            future = self._reader.submit(carry(self._with_readers), work, budget)
        except BaseException:  # Shut down: nothing was queued, so nothing is pending.
            self._reads.finished()
            raise
        future.add_done_callback(lambda _: self._reads.finished())
        return future

    def _with_readers(self, work: Callable[[Readers], T], budget: float | None = None) -> T:
        if self._readers is None:
            self.remote()
            self._readers = self.components.open_readers()
        with within(budget):
            return work(self._readers)

    # Indexing --------------------------------------------------------------------------------------

    def index(
        self,
        on_progress: Callable[[Progress], None],
        cancelled: Callable[[], bool],
        should_yield: ShouldYield | None = None,
        open_files: OpenFiles | None = None,
    ) -> Future[IndexReport]:
        """One incremental pass on the indexing thread; `cancelled` is polled after every batch of files or
        chunks. Its embedding phase embeds `open_files` first and stops early when `should_yield` says that
        another pass waits (which then embeds what is left)."""
        metrics.INDEX_QUEUE_DEPTH.inc()
        run = partial(self._index_run, on_progress, cancelled, should_yield, open_files)
        return self._indexer.submit(carry(self._dequeued), run)

    def _index_embedder(self) -> OnnxEmbedder:
        """The indexing thread's own session, created on that thread after it lowered its priority, so
        ONNX Runtime's worker threads inherit the lower priority and a request never waits behind a batch."""
        _lower_thread_priority()
        return self.components.index_embedder()

    def _dequeued(self, run: Callable[[], IndexReport]) -> IndexReport:
        """A queued pass as it starts: off the queue-depth gauge, under a correlation id of its own."""
        metrics.INDEX_QUEUE_DEPTH.dec()
        with bound(correlation=new_correlation_id()):
            return run()

    def _index_run(
        self,
        on_progress: Callable[[Progress], None],
        cancelled: Callable[[], bool],
        should_yield: ShouldYield | None,
        open_files: OpenFiles | None,
    ) -> IndexReport:
        state = self.index_state
        state.running, state.last_error = True, None

        def progress(event: Progress) -> None:
            state.observe(event)
            on_progress(event)
            if cancelled():
                raise IndexCancelled("indexing was cancelled")

        try:
            self.remote()
            indexer = self.components.indexer(
                progress,
                self._index_embedder(),
                open_files,
                should_yield,
                self._reads.wait_until_answered,
                self._parse_worker,
            )
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
        seen = Observed(
            stats=readers.store.stats(),
            pending=readers.store.outbox_counts(),
            unavailable=dict(readers.searcher.unavailable),
            breakers=self.resilience.snapshot(),
        )
        backends = backends_status(self.settings, state, seen)
        return {
            "roots": [str(root) for root in self.roots],
            "store": str(self.workspace.store_path),
            "index": seen.stats,
            "indexing": state.to_json(),
            "model": {"id": embedder.model_id, "provider": embedder.provider, "dimensions": embedder.dimensions},
            "backends": backends,
            "breakers": seen.breakers,
            "health": "degraded" if is_degraded(backends) else "ok",
            "summary": summary(backends, state, seen.stats),
        }

    def _on_breaker_change(self, transition: Transition) -> None:
        """A closed breaker means its backend answers again: search stops reporting its signal as missing."""
        readers = self._readers
        if transition.new is State.CLOSED and readers is not None:
            readers.searcher.unavailable.pop(role_of_guard(transition.backend) or "", None)

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
        if self._parse_worker is not None:
            self._parse_worker.close()
        if self._readers is not None:
            self._reader.submit(self._close_readers).result()
        self._reader.shutdown(wait=True, cancel_futures=True)
        self.components.close()

    def _close_readers(self) -> None:
        if self._readers is not None:
            self._readers.close()
            self._readers = None


class PendingReads:
    """The editor's requests submitted to the reader thread and not yet answered. The indexing thread waits
    for them between files: parsing and chunking are Python, and two Python threads share one interpreter
    lock, so without this a hover during a pass took turns with the parser (p50 35 ms instead of 13 on a
    10k-chunk workspace, docs/BENCHMARKS.md). Nice values cannot help there; only the indexer stepping aside can.
    """

    # The longest the indexer waits at one point: a steady stream of requests must not stop indexing.
    MAX_WAIT_S = 0.5

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def started(self) -> None:
        with self._changed:
            self._count += 1

    def finished(self) -> None:
        with self._changed:
            self._count -= 1
            if self._count == 0:
                self._changed.notify_all()

    def wait_until_answered(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._count == 0, timeout=self.MAX_WAIT_S)


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
        "chunks_from_team": report.chunks_from_team,
        "seconds": round(report.seconds, 3),
    }
