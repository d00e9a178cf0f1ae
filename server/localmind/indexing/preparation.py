"""Phase 1's work on one file before it is written: read, decode, redact, parse, chunk and extract.

It is a function of the file and a few settings only, so it runs either on the indexing thread
(`InlinePreparer`, the command line's choice) or in a worker process (`ProcessPreparer`, the language
server's). In the server, parsing and chunking are Python that holds the interpreter lock for up to tens of
milliseconds a file; on the indexing thread every hover and workspace/symbol request waits behind that.
In a process of its own, the server's threads only write what the worker prepared.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from localmind.embeddings.tokenize import TextTokenizer
from localmind.indexing import ids
from localmind.indexing.chunker import chunk_document
from localmind.indexing.decode import BinaryFile, decode
from localmind.indexing.documents import ParsedDocument
from localmind.indexing.extract import FileGraph, extract
from localmind.indexing.parsers import is_pdf, parse_file, parse_pdf
from localmind.indexing.scanner import ScannedFile
from localmind.secret_masking import redact
from localmind.stores.records import FileRecord

log = logging.getLogger(__name__)
TokenSpans = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True)
class PrepareSettings:
    """What preparing a file depends on, besides the file."""

    workspace_key: str
    model_id: str
    chunk_tokens: int
    chunk_overlap: int
    redact_secrets: bool
    tokenizer_path: Path
    max_tokens: int


@dataclass(frozen=True)
class PrepareJob:
    """A changed file, with the content hash and model the store last indexed it with (None: a new file)."""

    scanned: ScannedFile
    known_hash: str | None = None
    known_model: str | None = None


@dataclass
class Prepared:
    """A file ready to be written: its record, its graph (chunks included) and each chunk's embedding text."""

    scanned: ScannedFile
    record: FileRecord
    graph: FileGraph
    embed_texts: list[str]
    embed_hashes: list[str]  # Each embedding text's hash, the embedding cache's key (computed here, off the lock).
    secrets_redacted: int = 0


# What preparing a file gives: the file ready to be written, a reason to skip it, or None when its bytes are
# the ones the store already holds (only its modification time moved).
Outcome = Prepared | str | None


def _no_pause() -> None:
    return None


def prepare_file(
    job: PrepareJob, settings: PrepareSettings, spans: TokenSpans, between_steps: Callable[[], None] = _no_pause
) -> Outcome:
    """The file's records, a skip reason, or None when its bytes did not change. `between_steps` is called
    after parsing and after chunking (each Python for up to tens of milliseconds)."""
    scanned = job.scanned
    try:
        data = scanned.abs_path.read_bytes()
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    digest = ids.content_hash(data)
    if job.known_hash == digest and job.known_model == settings.model_id:
        return None
    try:
        doc, secrets = _parse(scanned.rel_path, data, settings.redact_secrets)
    except BinaryFile as exc:
        return f"binary ({exc})"
    except ValueError as exc:
        return f"unparseable: {exc}"
    between_steps()
    prepared = _records(scanned, doc, digest, settings, spans, between_steps)
    prepared.secrets_redacted = secrets
    return prepared


def _parse(rel_path: str, data: bytes, redact_secrets: bool) -> tuple[ParsedDocument, int]:
    """The parsed document, and how many secrets were masked in its text."""
    if is_pdf(rel_path):
        return parse_pdf(rel_path, data), 0
    text, found = decode(data).text, 0
    if redact_secrets:
        text, found = redact(text)
    return parse_file(rel_path, text), found


def _records(
    scanned: ScannedFile,
    doc: ParsedDocument,
    digest: str,
    settings: PrepareSettings,
    spans: TokenSpans,
    between_steps: Callable[[], None],
) -> Prepared:
    file_id = ids.file_id(settings.workspace_key, scanned.root, scanned.rel_path)
    chunks = chunk_document(doc, spans, settings.chunk_tokens, settings.chunk_overlap)
    between_steps()
    graph = extract(file_id, scanned.rel_path, doc, chunks)
    record = FileRecord(
        id=file_id,
        root=str(scanned.root),
        rel_path=scanned.rel_path,
        kind=doc.kind,
        language=doc.language,
        title=doc.title,
        size=scanned.size,
        mtime_ns=scanned.mtime_ns,
        content_hash=digest,
    )
    title = doc.title or scanned.rel_path
    texts = [embedding_text(title, c.heading_path, c.symbol, c.text, c.context) for c in chunks]
    return Prepared(scanned, record, graph, texts, [ids.text_hash(text) for text in texts])


def embedding_text(
    title: str, heading_path: Sequence[str], symbol: str | None, text: str, signature: str | None = None
) -> str:
    """What the model reads for a chunk: where it is (title or path, headings, qualified symbol), the signature
    of the definition it continues (a later part of a large definition), then the chunk itself."""
    context = " > ".join([title, *heading_path])
    if symbol:
        context += f" ({symbol})"
    if signature:
        context += f"\n{signature}"
    return f"{context}\n{text}"


class InlinePreparer:
    """Prepares files on the calling thread, calling `give_way` before each file and between its steps."""

    def __init__(self, spans: TokenSpans, give_way: Callable[[], None] = lambda: None) -> None:
        self.spans = spans
        self.give_way = give_way

    def prepare(self, jobs: Sequence[PrepareJob], settings: PrepareSettings) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for job in jobs:
            self.give_way()
            outcomes.append(prepare_file(job, settings, self.spans, self.give_way))
        return outcomes


class ProcessPreparer:
    """Prepares files in one worker process, started on first use and kept until `close`; thread-safe.

    The worker is spawned, not forked: the server has threads, and ONNX Runtime's thread pools must not be
    copied into a child. When it dies (killed, out of memory, a parser crash), `prepare` answers None for
    that batch, which the caller then prepares itself, and the next batch starts a new worker; when no
    worker can start at all, every batch is left to the caller, with one warning.
    """

    def __init__(self, nice: int = 0) -> None:
        """`nice`: the least niceness the worker runs at (the language server gives it its indexing thread's)."""
        self.nice = nice
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._disabled = False

    def prepare(self, jobs: Sequence[PrepareJob], settings: PrepareSettings) -> list[Outcome] | None:
        """Each job's outcome in the jobs' order, or None when the worker is not there to prepare them."""
        pool = self._worker()
        if pool is None:
            return None
        try:
            return list(pool.map(_prepare_in_worker, jobs, [settings] * len(jobs), chunksize=4))
        except BrokenProcessPool as exc:
            log.warning("the file-parsing worker stopped (%s); this batch is parsed here, the next one anew", exc)
        except OSError as exc:  # The process could not be started (no fork, no memory, a sandbox).
            log.warning("no file-parsing worker (%s); files are parsed on the indexing thread", exc)
            self._disabled = True
        self._shut_down(pool)
        return None

    def _worker(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._disabled:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=context, initializer=_start_worker, initargs=(self.nice,)
                )
            return self._pool

    def _shut_down(self, pool: ProcessPoolExecutor | None, wait: bool = False) -> None:
        with self._lock:
            if pool is not None and pool is self._pool:
                self._pool = None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def close(self) -> None:
        """Stops the worker and waits until it has exited; a later `prepare` starts a new one."""
        self._shut_down(self._pool, wait=True)


def _start_worker(nice: int) -> None:
    """In the new worker: standard output goes to standard error, and the worker takes the given niceness.

    The worker inherits the server's standard output, which under `localmind serve` is the JSON-RPC stream:
    a stray print from any library must not reach it. (multiprocessing already gives it /dev/null as input.)
    """
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(os.getpriority(os.PRIO_PROCESS, 0), nice))
    except (AttributeError, OSError) as exc:  # Not a POSIX system, or not allowed: the worker keeps its priority.
        log.debug("the file-parsing worker keeps its priority: %s", exc)


# The worker's tokenizers, by (path, max tokens): loaded once per worker process.
_WORKER_TOKENIZERS: dict[tuple[Path, int], TextTokenizer] = {}


def _prepare_in_worker(job: PrepareJob, settings: PrepareSettings) -> Outcome:
    key = (settings.tokenizer_path, settings.max_tokens)
    tokenizer = _WORKER_TOKENIZERS.get(key)
    if tokenizer is None:
        tokenizer = _WORKER_TOKENIZERS.setdefault(key, TextTokenizer(*key))
    return prepare_file(job, settings, tokenizer.token_spans)
