"""The indexer, in two phases. Phase 1: scan → read → parse → chunk → extract → one transaction per file,
with each chunk's vector from the embedding cache when its text was embedded before and marked pending
otherwise; once it ends, every file answers to words and the graph. Phase 2: the pending chunks are embedded
in batches drawn from many files (open files first, then the most recently modified), each batch stored in
one transaction, so meaning search covers more of the workspace as it goes.

Incremental: a file whose size and modification time are unchanged is not read; one whose bytes are
unchanged is not parsed; a chunk whose text was embedded before (by this model) is not embedded
again. Files that vanished, or became ignored, are deleted with everything they contributed. A run
killed at any point leaves whole files only, and the next run converges to the same store.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.errors import ConfigError, LocalMindError
from localmind.indexing import ids
from localmind.indexing.preparation import (
    InlinePreparer,
    Outcome,
    Prepared,
    PrepareJob,
    PrepareSettings,
    ProcessPreparer,
)
from localmind.indexing.scanner import ScannedFile, Skipped, scan
from localmind.indexing.workspace import Workspace
from localmind.stores.ports import EmbeddingCache, IndexStore, ReplicaSink, StoreError
from localmind.stores.records import FileState, FileUpdate, PendingVector
from localmind.stores.replication import BackgroundReplicator, DrainReport, Replicator
from localmind.stores.server_scope import ServerScope, adopt_scope
from localmind.stores.sqlite_store import SqliteStore

log = logging.getLogger(__name__)
_FILES_PER_BATCH = 32
# Between batches, phase 1 also reports each file written, at most this often: progress a person sees move.
_FILE_PROGRESS_INTERVAL_S = 0.25
# Phase 2 embeds this many pending chunks per step (drawn from many files; the embedder sorts them by length
# into its own batches). A step takes a few seconds on two cores, so progress and priorities stay current.
_CHUNKS_PER_STEP = 128
# Team cache hits are embedded here too and compared with this chance (6/256 ≈ 1 in 40), drawn with a key of
# the run's own, so whoever writes to the cache cannot know which of its vectors will be checked.
_SPOT_CHECK_BELOW = 6
_SPOT_CHECK_COSINE = 0.999
# Bumped whenever parsing or chunking changes what a file becomes: a store made by another version re-parses
# every file once (vectors whose text is unchanged still come from the cache).
CHUNKING_VERSION = "2"
_CHUNKING_KEY = "chunking_version"


@dataclass
class IndexReport:
    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_from_team: int = 0  # Vectors the team's embedding cache had, so nobody embedded them here.
    chunks_spot_checked: int = 0  # Of those, embedded here too to check the cache (not stored again).
    secrets_redacted: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    searchable_seconds: float = 0.0  # Phase 1: until every changed file answers to words and the graph.
    pending_left: int = 0  # Chunks still without a vector when the run ended (a later run embeds them).


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    chunks: int
    elapsed: float
    phase: str = "indexing"  # "indexing" (phase 1: files) or "embedding" (phase 2: chunks).
    embedded: int = 0
    to_embed: int = 0
    # Seconds since this count began: the root's scan in phase 1 (each root counts its own files), phase 2's start.
    phase_seconds: float = 0.0

    @property
    def counts(self) -> tuple[int, int]:
        """What the phase has done and has to do: files in phase 1, chunks in phase 2."""
        return (self.embedded, self.to_embed) if self.phase == "embedding" else (self.files_done, self.files_total)

    def estimate_left(self) -> str | None:
        """The phase's time-left estimate (see time_left), or None while it means nothing."""
        return time_left(*self.counts, self.phase_seconds)


ProgressCallback = Callable[[Progress], None]

# A time-left estimate shown before this much of a phase has passed, or before this share of its work is
# done, swings wildly (the first steps include warm-up), so none is given until both have.
_ESTIMATE_AFTER_S = 5.0
_ESTIMATE_AFTER_SHARE = 0.02


def time_left(done: int, total: int, spent: float) -> str | None:
    """'about 40 s left' or 'about 6 min left' from the phase's own pace so far; None until that pace means
    something, and once the phase is done."""
    if total <= 0 or done >= total or spent < _ESTIMATE_AFTER_S or done < total * _ESTIMATE_AFTER_SHARE or not done:
        return None
    seconds = spent / done * (total - done)
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s left"
    return f"about {round(seconds / 60):.0f} min left"


class IndexCancelled(LocalMindError):
    """Raised by a progress callback to stop a run; the files written so far stay, whole."""


# What tells a run which files the user has open (absolute paths), and whether to stop phase 2 early because
# another run waits (the pending chunks stay for that run).
OpenFiles = Callable[[], Iterable[Path]]
ShouldYield = Callable[[], bool]
# Called between files, between a file's parse, chunk and extract steps, and between embedding steps: returns
# once the editor's pending requests are answered (or after a short bound), so a pass on another thread of the
# same process never holds the interpreter for long while a hover waits.
GiveWay = Callable[[], None]


def check_chunk_settings(settings: IndexingSettings, embedder: OnnxEmbedder) -> None:
    if settings.chunk_tokens > embedder.max_tokens:
        raise ConfigError(
            f"setting indexing.chunk_tokens ({settings.chunk_tokens}) is above the embedding model's maximum "
            f"sequence length ({embedder.max_tokens} tokens for {embedder.model_id})"
        )


class Indexer:
    def __init__(
        self,
        workspace: Workspace,
        settings: IndexingSettings,
        embedder: OnnxEmbedder,
        progress: ProgressCallback | None = None,
        sinks: dict[str, ReplicaSink] | None = None,
        open_files: OpenFiles | None = None,
        should_yield: ShouldYield | None = None,
        team_cache: EmbeddingCache | None = None,
        scope: ServerScope | None = None,
        give_way: GiveWay | None = None,
        worker: ProcessPreparer | None = None,
    ) -> None:
        """`sinks` are server backends (by name) fed from the store's outbox after every batch of files,
        under the workspace key `scope` names; `open_files` are embedded first in phase 2, which stops early
        when `should_yield` says so. `team_cache` lends vectors a teammate embedded, and gets ours.
        `give_way` is called between files and between embedding steps (see GiveWay). Changed files are parsed
        and chunked by `worker`, a process of the caller's, or on this thread when there is none."""
        check_chunk_settings(settings, embedder)
        self.workspace = workspace
        self.settings = settings
        self.embedder = embedder
        self.progress = progress or (lambda _event: None)
        self.sinks = sinks or {}
        self.open_files = open_files or (lambda: ())
        self.should_yield = should_yield or (lambda: False)
        self.give_way = give_way or (lambda: None)
        self.worker = worker
        self.inline = InlinePreparer(embedder.tokenizer.token_spans, self.give_way)
        self.prepare_settings = PrepareSettings(
            workspace_key=workspace.key,
            model_id=embedder.model_id,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            redact_secrets=settings.redact_secrets,
            tokenizer_path=embedder.tokenizer.path,
            max_tokens=embedder.tokenizer.max_tokens,
        )
        self.team = _TeamCache(team_cache, embedder)
        self.scope = scope
        self.last_drain: DrainReport | None = None
        self._replicator: BackgroundReplicator | None = None

    def run(self) -> IndexReport:
        """One incremental pass over every root, under the workspace's writer lock. With server backends,
        a replication thread feeds them from the outbox while the run goes on."""
        with self._writer_lock():
            store = SqliteStore(self.workspace.store_path, journal_backends=tuple(self.sinks))
            finished = False
            try:
                if self.scope is not None:
                    adopt_scope(store, tuple(self.sinks), self.scope)
                self._start_replication(store)
                self._drain()  # Whatever an earlier run or an outage left behind goes first.
                report = self._run(store)
                finished = True
                return report
            finally:
                self._stop_replication(drain=finished)
                store.close()

    def _start_replication(self, store: SqliteStore) -> None:
        if self.sinks:
            self._replicator = BackgroundReplicator(store.another_connection, self.sinks)

    def _stop_replication(self, drain: bool) -> None:
        replicator, self._replicator = self._replicator, None
        if replicator is not None:
            self.last_drain = replicator.finish(drain) or self.last_drain

    def _drain(self) -> None:
        """Tell the replication thread the outbox holds more; a failing backend keeps its entries for later."""
        if self._replicator is not None:
            self._replicator.nudge()

    def _writer_lock(self) -> FileLock:
        return writer_lock(self.workspace)

    def _run(self, store: IndexStore) -> IndexReport:
        report, started = IndexReport(), time.perf_counter()
        run_id = store.start_run()
        store.set_meta("model_id", self.embedder.model_id)
        status = "failed"
        self.team.start_run()
        rechunk = store.meta(_CHUNKING_KEY) != CHUNKING_VERSION
        try:
            for root in self.workspace.roots:
                self._index_root(store, root, report, started, rechunk)
            store.set_meta(_CHUNKING_KEY, CHUNKING_VERSION)
            report.searchable_seconds = time.perf_counter() - started
            self._embed_pending(store, report, started)
            status = "done"
        except (IndexCancelled, KeyboardInterrupt):  # Cancelled from the editor, or Ctrl-C.
            status = "cancelled"
            raise
        except SystemExit:  # The command line turns SIGTERM into SystemExit.
            status = "terminated"
            raise
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            raise StoreError(
                f"the store at {self.workspace.store_path} has no space left ({exc}); free space and run again: "
                "nothing indexed so far is lost"
            ) from None
        finally:
            report.seconds = time.perf_counter() - started
            report.chunks_spot_checked = self.team.checked
            _finish(store, run_id, status, report)
        return report

    def _index_root(self, store: IndexStore, root: Path, report: IndexReport, started: float, rechunk: bool) -> None:
        """Index one root's changed files (every file when `rechunk`: the store was chunked another way)."""
        known = store.file_states(str(root))
        files, skips = _scan(root, self.settings)
        report.files_seen += len(files)
        model = self.embedder.model_id
        changed = [f for f in files if rechunk or not _unchanged(f, known.get(f.rel_path), model)]
        report.files_unchanged += len(files) - len(changed)
        scan_began = time.perf_counter()

        def files_progress(done: int) -> Progress:
            now = time.perf_counter()
            return Progress(done, len(changed), report.chunks_written, now - started, phase_seconds=now - scan_began)

        self.progress(files_progress(0))
        last_report = [time.perf_counter()]
        for start in range(0, len(changed), _FILES_PER_BATCH):
            batch = changed[start : start + _FILES_PER_BATCH]
            written_before = report.files_indexed

            def file_written(start: int = start, written_before: int = written_before) -> None:
                now = time.perf_counter()
                if now - last_report[0] >= _FILE_PROGRESS_INTERVAL_S:
                    last_report[0] = now
                    self.progress(files_progress(start + report.files_indexed - written_before))

            self._index_batch(store, batch, {} if rechunk else known, skips, report, file_written)
            self._drain()
            self.progress(files_progress(start + len(batch)))
        present = {f.rel_path for f in files} - {rel for rel, _ in skips}
        for rel_path, state in known.items():
            if rel_path not in present:
                store.delete_file(state.id)
                report.files_deleted += 1
        store.replace_skips(str(root), skips)
        report.skipped.update(reason.split(" (")[0].split(":")[0] for _, reason in skips)

    def _index_batch(
        self,
        store: IndexStore,
        batch: list[ScannedFile],
        known: dict[str, FileState],
        skips: list[tuple[str, str]],
        report: IndexReport,
        file_written: Callable[[], None] = lambda: None,
    ) -> None:
        jobs = [_job(scanned, known.get(scanned.rel_path)) for scanned in batch]
        prepared = []
        for job, outcome in zip(jobs, self._prepare(jobs), strict=True):
            if isinstance(outcome, str):
                skips.append((job.scanned.rel_path, outcome))
            elif outcome is None:  # Same bytes, new modification time: remember it, skip the work.
                store.touch_file(known[job.scanned.rel_path].id, job.scanned.size, job.scanned.mtime_ns)
            else:
                report.secrets_redacted += outcome.secrets_redacted
                prepared.append(outcome)
        texts = {h: t for item in prepared for h, t in zip(item.embed_hashes, item.embed_texts, strict=True)}
        cached = store.cached_vectors(self.embedder.model_id, list(texts))
        from_team = self.team.lookup({h: t for h, t in texts.items() if h not in cached})
        report.chunks_from_team += len(from_team)
        cached.update(from_team)
        for item in prepared:
            self.give_way()
            store.write_file(_update(item, cached, self.embedder))
            report.files_indexed += 1
            report.chunks_written += len(item.graph.chunks)
            file_written()

    def _prepare(self, jobs: list[PrepareJob]) -> list[Outcome]:
        """The jobs' outcomes: from the worker process when there is one that answers, else from this thread."""
        outcomes = self.worker.prepare(jobs, self.prepare_settings) if self.worker else None
        return self.inline.prepare(jobs, self.prepare_settings) if outcomes is None else outcomes

    # Phase 2 --------------------------------------------------------------------------------------------

    def _embed_pending(self, store: IndexStore, report: IndexReport, started: float) -> None:
        """Embed every chunk still without a vector, a step at a time, open files first; stop early when
        another run waits (`should_yield`), leaving the rest for it."""
        to_embed, embedded = store.pending_count(), 0
        phase_began = time.perf_counter()

        def chunks_progress() -> Progress:
            now = time.perf_counter()
            return Progress(
                0, 0, report.chunks_written, now - started, "embedding", embedded, to_embed, now - phase_began
            )

        if to_embed:  # Phase 2 begins, every file searchable by words: said at once, not after its first step.
            self.progress(chunks_progress())
        while to_embed and not self.should_yield():
            self.give_way()
            step = store.pending_vectors(_CHUNKS_PER_STEP, self._open_file_ids())
            if not step:
                break
            store.write_vectors(self.embedder.model_id, self._vectors_for(store, step, report))
            embedded += len(step)
            self._drain()
            self.progress(chunks_progress())
        report.pending_left = store.pending_count()

    def _vectors_for(
        self, store: IndexStore, step: list[PendingVector], report: IndexReport
    ) -> list[tuple[PendingVector, np.ndarray]]:
        """Each pending chunk with its vector: from the cache when the same text was embedded meanwhile,
        else embedded (each distinct text once)."""
        model = self.embedder.model_id
        known = store.cached_vectors(model, list({item.text_hash for item in step}))
        from_team = self.team.lookup({i.text_hash: i.embed_text for i in step if i.text_hash not in known})
        report.chunks_from_team += len(from_team)
        known.update(from_team)
        texts = {item.text_hash: item.embed_text for item in step if item.text_hash not in known}
        if texts:
            began = time.perf_counter()
            vectors = self.embedder.embed_documents(list(texts.values()))
            report.embed_seconds += time.perf_counter() - began
            report.chunks_embedded += len(texts)
            embedded = dict(zip(texts, vectors, strict=True))
            self.team.publish(embedded)
            known.update(embedded)
        return [(item, known[item.text_hash]) for item in step]

    def _open_file_ids(self) -> list[str]:
        """The ids of the files the user has open (those inside a root), embedded before the others."""
        located = (self.workspace.locate(path) for path in self.open_files())
        return [ids.file_id(self.workspace.key, root, rel_path) for root, rel_path in filter(None, located)]


class _TeamCache:
    """The team's embedding cache as indexing uses it: a failure costs the cache's help, never the run
    (the chunks are embedded here instead, and published once the cache answers again).

    Its vectors are spot-checked: the first hit of a run and about one in forty after it (drawn with a
    secret key of the run, so whoever writes to the cache cannot tell which) are embedded here too. One
    that differs (another model build, or a vector published under a text it was not made from) makes
    the run stop trusting the cache, and everything it had not yet stored is embedded here."""

    def __init__(self, cache: EmbeddingCache | None, embedder: OnnxEmbedder) -> None:
        self.cache = cache
        self.embedder = embedder
        self.start_run()

    def start_run(self) -> None:
        """Trust the cache again, and check its first hit, as every run does."""
        self.distrusted = False
        self.checked = 0
        self._key = secrets.token_bytes(16)
        self._checked_first = False
        self._warned = False

    def lookup(self, texts: dict[str, str]) -> dict[str, np.ndarray]:
        """Vectors for the texts (by hash) that the cache holds and that pass the spot check."""
        if self.cache is None or self.distrusted or not texts:
            return {}
        try:
            found = self.cache.lookup(list(texts))
        except Exception as exc:  # A server down or refusing: embed here instead.
            self._warn(f"the team embedding cache did not answer ({exc}); embedding here instead")
            return {}
        if found and not self._spot_check({h: texts[h] for h in found}, found):
            self.distrusted = True
            log.warning(
                "the team embedding cache returned a vector that differs from this machine's for the same text "
                "(another model build, or a tampered cache); this run embeds everything here"
            )
            return {}
        return found

    def _spot_check(self, texts: dict[str, str], found: dict[str, np.ndarray]) -> bool:
        sample = [h for h in found if self._drawn(h)]
        if not self._checked_first:
            self._checked_first = True
            sample = sample or [next(iter(found))]
        if not sample:
            return True
        mine = self.embedder.embed_documents([texts[h] for h in sample])
        self.checked += len(sample)
        theirs = np.stack([found[h] for h in sample])
        agreement = np.sum(mine * theirs, axis=1) / (
            np.linalg.norm(mine, axis=1) * np.linalg.norm(theirs, axis=1) + 1e-12
        )
        return bool(np.all(agreement >= _SPOT_CHECK_COSINE))

    def _drawn(self, text_hash: str) -> bool:
        draw = hashlib.blake2b(text_hash.encode("ascii"), key=self._key, digest_size=1).digest()[0]
        return draw < _SPOT_CHECK_BELOW

    def publish(self, vectors: dict[str, np.ndarray]) -> None:
        if self.cache is None or not vectors:
            return
        try:
            self.cache.publish(vectors)
        except Exception as exc:  # Losing a publication costs a teammate one embedding, nothing more.
            self._warn(f"could not share vectors with the team embedding cache ({exc})")

    def _warn(self, message: str) -> None:
        """Log the first failure of a run only: an outage would otherwise log once per batch."""
        if not self._warned:
            self._warned = True
            log.warning("%s", message)


def _finish(store: IndexStore, run_id: int, status: str, report: IndexReport) -> None:
    """Record how the run ended; when even that cannot be written (a full disk), the next run records it."""
    try:
        store.finish_run(run_id, status, report.files_indexed, report.files_deleted, report.chunks_embedded)
    except sqlite3.Error as exc:
        log.warning("could not record the end of the indexing run (%s); the next run will", exc)


def _scan(root: Path, settings: IndexingSettings) -> tuple[list[ScannedFile], list[tuple[str, str]]]:
    files, skips = [], []
    for entry in scan(root, settings):
        if isinstance(entry, Skipped):
            skips.append((entry.rel_path, entry.reason))
        else:
            files.append(entry)
    return files, skips


def _unchanged(scanned: ScannedFile, state: FileState | None, model_id: str) -> bool:
    return (
        state is not None
        and state.size == scanned.size
        and state.mtime_ns == scanned.mtime_ns
        and state.model_id == model_id
    )


def _job(scanned: ScannedFile, state: FileState | None) -> PrepareJob:
    return PrepareJob(scanned, state.content_hash if state else None, state.model_id if state else None)


def _update(item: Prepared, cached: dict[str, np.ndarray], embedder: OnnxEmbedder) -> FileUpdate:
    """The file's update for phase 1: cached vectors where the text was embedded before, the rest pending
    (their rows of `vectors` are zero placeholders, never stored)."""
    graph = item.graph
    placeholder = np.zeros(embedder.dimensions, dtype=np.float32)
    rows, pending = [], {}
    for chunk, text, text_hash in zip(graph.chunks, item.embed_texts, item.embed_hashes, strict=True):
        vector = cached.get(text_hash)
        if vector is None:
            pending[chunk.id] = text
        rows.append(placeholder if vector is None else vector)
    return FileUpdate(
        file=item.record,
        chunks=graph.chunks,
        vectors=np.stack(rows) if rows else np.zeros((0, embedder.dimensions), dtype=np.float32),
        model_id=embedder.model_id,
        symbols=graph.symbols,
        sections=graph.sections,
        tags=graph.tags,
        links=graph.links,
        mentions=graph.mentions,
        pending=pending,
    )


def writer_lock(workspace: Workspace) -> FileLock:
    """The workspace's writer lock, acquired: one process writes a store at a time."""
    lock = FileLock(str(workspace.lock_path))
    try:
        lock.acquire(timeout=0.2)
    except Timeout:
        log.warning("another indexer is writing %s; waiting for it to finish", workspace.folder)
        lock.acquire()
    return lock


def replay_outbox(workspace: Workspace, sinks: dict[str, ReplicaSink]) -> DrainReport | None:
    """Send the server backends what the outbox holds (after an outage), under the writer lock; None
    when nothing waits."""
    with writer_lock(workspace):
        store = SqliteStore(workspace.store_path, journal_backends=tuple(sinks))
        try:
            waiting = store.outbox_counts()
            if not any(waiting.get(name, 0) for name in sinks):
                return None
            return Replicator(store, sinks).drain()
        finally:
            store.close()
