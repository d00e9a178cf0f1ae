"""The embedded store: one SQLite database (WAL) per workspace holding files, chunks, the FTS5 index,
the knowledge graph and the embeddings. Every file update is one transaction, so a reader never sees a
half-indexed file and a killed run leaves only whole files behind.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from localmind.stores.ports import StoreError
from localmind.stores.readback import load_file_update
from localmind.stores.records import FileState, FileUpdate, PendingVector
from localmind.stores.sqlite_reads import SqliteReads
from localmind.stores.sqlite_schema import FILE_OWNED_TABLES, SCHEMA, SCHEMA_VERSION, UPGRADES

log = logging.getLogger(__name__)
_BUSY_TIMEOUT_MS = 30_000
# The server backends that store vectors: a file reaches their outbox once every chunk of it has one.
VECTOR_BACKENDS = frozenset({"milvus"})


class SqliteStore:
    """Thread-confined: each thread or process opens its own SqliteStore on the same path."""

    def __init__(self, path: Path, journal_backends: tuple[str, ...] = ()) -> None:
        """`journal_backends` names the server backends (e.g. "neo4j", "milvus") whose outbox each write
        also fills, in the same transaction."""
        self.path = path
        self.journal_backends = journal_backends
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rebuilt_from_older = False
        try:
            self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._prepare_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the index at {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def another_connection(self) -> SqliteStore:
        """A new connection to the same store, for another thread (which closes it)."""
        return SqliteStore(self.path)

    # Schema ---------------------------------------------------------------------------------------

    def _prepare_schema(self) -> None:
        found = self._schema_version()
        if found is not None and found > SCHEMA_VERSION:
            raise StoreError(
                f"the index at {self.path} was written by a newer Local Mind (schema {found}, this one reads "
                f"{SCHEMA_VERSION}); upgrade localmind, or delete that folder to rebuild the index"
            )
        if found == SCHEMA_VERSION:  # Opening a current store writes nothing, so readers never wait on a writer.
            return
        if found is not None and all(v in UPGRADES for v in range(found + 1, SCHEMA_VERSION + 1)):
            self._upgrade(found)
            return
        if found is not None and found < SCHEMA_VERSION:
            log.warning("the index at %s has schema %s; rebuilding it from the files", self.path, found)
            self._drop_everything()
            self.rebuilt_from_older = True
        with self.transaction():
            for statement in _statements(SCHEMA):
                self._db.execute(statement)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")

    def _upgrade(self, found: int) -> None:
        with self.transaction() as db:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                db.execute(UPGRADES[version])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        log.info("the index at %s moved from schema %s to %s", self.path, found, SCHEMA_VERSION)

    def _schema_version(self) -> int | None:
        exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        if not exists:
            return None
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _drop_everything(self) -> None:
        objects = self._db.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'chunks_fts_%'"
        ).fetchall()
        with self.transaction():
            for kind, name in objects:
                self._db.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front: one writer at a time, others wait (busy timeout)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back already (a full disk does that).
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # Writes ---------------------------------------------------------------------------------------

    def write_file(self, update: FileUpdate) -> None:
        """Replace everything a file contributed, in one transaction."""
        with self.transaction() as db:
            _delete_file_rows(db, update.file.id)
            _insert_file(db, update)
            complete = not update.pending
            backends = tuple(b for b in self.journal_backends if complete or b not in VECTOR_BACKENDS)
            _journal(db, backends, update.file.id, "write")
            _bump_generation(db, files_changed=True)

    # Vectors that come after their chunks (phase 2) --------------------------------------------------

    def pending_vectors(self, limit: int, first_files: Iterable[str] = ()) -> list[PendingVector]:
        """Up to `limit` chunks waiting for a vector: those of `first_files` (ids) first, then the most
        recently modified files' chunks."""
        rows = self._db.execute(
            "SELECT chunk_id, file_id, text_hash, embed_text FROM pending_vectors "
            "ORDER BY file_id IN (SELECT value FROM json_each(?)) DESC, mtime_ns DESC, file_id, chunk_id LIMIT ?",
            (json.dumps(sorted(set(first_files))), limit),
        )
        return [PendingVector(*row) for row in rows]

    def pending_count(self) -> int:
        return self._count("pending_vectors")

    def vector_rows(self, model_id: str, after_rowid: int = 0) -> list[tuple[int, str, str, bytes]]:
        """The vectors of a model stored after `after_rowid` (all by default), in the order they were stored:
        (rowid, chunk id, file id, float32 bytes)."""
        return [
            (int(rowid), str(chunk), str(file_id), bytes(blob))
            for rowid, chunk, file_id, blob in self._db.execute(
                "SELECT rowid, chunk_id, file_id, vector FROM vectors WHERE model_id = ? AND rowid > ? ORDER BY rowid",
                (model_id, after_rowid),
            )
        ]

    def vector_removals_since(self, seq: int) -> tuple[list[int], int] | None:
        """The rows of the vectors removed after log entry `seq`, and the newest entry; None when entries after
        `seq` were dropped from the log already (the reader is too far behind: it reloads)."""
        oldest, newest = self._db.execute("SELECT MIN(seq), MAX(seq) FROM vector_removals").fetchone()
        if newest is None:
            return [], seq
        if seq + 1 < int(oldest):
            return None
        rows = self._db.execute("SELECT row FROM vector_removals WHERE seq > ?", (seq,))
        return [int(row) for (row,) in rows], int(newest)

    def vector_removal_seq(self) -> int:
        """The newest entry of the removal log (0 when empty): where a reader that loads every row starts."""
        return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM vector_removals").fetchone()[0])

    def dense_coverage(self) -> float:
        """The share of chunks that already have their vector."""
        return dense_coverage(self._count("chunks"), self.pending_count())

    def write_vectors(self, model_id: str, embedded: list[tuple[PendingVector, np.ndarray]]) -> int:
        """Store the vectors of chunks that were waiting, in one transaction, and put every file that is now
        whole into the vector backends' outbox. A chunk that stopped waiting meanwhile (its file changed or
        went) is left out. Answers how many vectors were stored."""
        stored = 0
        with self.transaction() as db:
            for item, vector in embedded:
                blob = np.asarray(vector, np.float32).tobytes()
                db.execute("INSERT OR IGNORE INTO embedding_cache VALUES (?, ?, ?)", (model_id, item.text_hash, blob))
                if db.execute("DELETE FROM pending_vectors WHERE chunk_id = ?", (item.chunk_id,)).rowcount:
                    db.execute("INSERT INTO vectors VALUES (?, ?, ?, ?)", (item.chunk_id, item.file_id, model_id, blob))
                    stored += 1
            backends = tuple(b for b in self.journal_backends if b in VECTOR_BACKENDS)
            for file_id in {item.file_id for item, _ in embedded}:
                if not db.execute("SELECT 1 FROM pending_vectors WHERE file_id = ? LIMIT 1", (file_id,)).fetchone():
                    _journal(db, backends, file_id, "write")
            _bump_generation(db)
        return stored

    def delete_file(self, file_id: str) -> None:
        with self.transaction() as db:
            _delete_file_rows(db, file_id)
            db.execute("DELETE FROM files WHERE id = ?", (file_id,))
            _journal(db, self.journal_backends, file_id, "delete")
            _bump_generation(db, files_changed=True)

    # Outbox -----------------------------------------------------------------------------------------

    def enqueue(self, backend: str, file_id: str, op: str) -> None:
        """Ask for a file to be (re)applied to a backend, e.g. by `localmind verify --repair`."""
        self.enqueue_many(backend, [file_id], op)

    def enqueue_many(self, backend: str, file_ids: list[str], op: str) -> None:
        """`enqueue` for many files, in one transaction."""
        with self.transaction() as db:
            for file_id in file_ids:
                _journal(db, (backend,), file_id, op)

    def file_ids(self) -> list[str]:
        """Every indexed file's id."""
        return [str(file_id) for (file_id,) in self._db.execute("SELECT id FROM files ORDER BY id")]

    def complete_file_ids(self) -> list[str]:
        """The ids of the files whose every chunk has its vector (none waits for phase 2)."""
        rows = self._db.execute(
            "SELECT id FROM files WHERE id NOT IN (SELECT file_id FROM pending_vectors) ORDER BY id"
        )
        return [str(file_id) for (file_id,) in rows]

    def pending(self, backend: str, limit: int = 64) -> list[tuple[int, str, str]]:
        """The oldest (seq, file id, op) entries a backend has not applied."""
        rows = self._db.execute(
            "SELECT seq, file_id, op FROM outbox WHERE backend = ? ORDER BY seq LIMIT ?", (backend, limit)
        )
        return [(int(seq), str(file_id), str(op)) for seq, file_id, op in rows]

    def acknowledge(self, backend: str, seqs: list[int]) -> None:
        """The backend applied these entries (one transaction). A newer entry for the same file (another
        seq) stays."""
        with self.transaction() as db:
            db.executemany("DELETE FROM outbox WHERE backend = ? AND seq = ?", [(backend, seq) for seq in seqs])

    def record_failure(self, backend: str, seq: int, error: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE backend = ? AND seq = ?",
                (error[:500], backend, seq),
            )

    def outbox_counts(self) -> dict[str, int]:
        return self._tally("SELECT backend, COUNT(*) FROM outbox GROUP BY backend")

    def load_update(self, file_id: str) -> FileUpdate | None:
        """A file's whole contribution, read back from this store (what an outbox entry replays)."""
        return load_file_update(self._db, file_id)

    def manifest_inventory(self) -> dict[str, set[str]]:
        """Every indexed file → the ids of its chunks: the truth `localmind verify` compares backends with."""
        inventory: dict[str, set[str]] = {f: set() for (f,) in self._db.execute("SELECT id FROM files")}
        for chunk, file_id in self._db.execute("SELECT id, file_id FROM chunks"):
            inventory.setdefault(file_id, set()).add(chunk)
        return inventory

    def touch_file(self, file_id: str, size: int, mtime_ns: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, file_id))

    def replace_skips(self, root: str, skips: Iterable[tuple[str, str]]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM skipped WHERE root = ?", (root,))
            db.executemany("INSERT OR REPLACE INTO skipped VALUES (?, ?, ?)", ((root, p, r) for p, r in skips))

    def start_run(self) -> int:
        """A new run; one still marked running is from a process that ended without saying (killed, or out of
        disk space), and is recorded as failed. The caller holds the writer lock, so none is really running."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'failed', finished_at = ? WHERE status = 'running'", (_now(),))
            cursor = db.execute("INSERT INTO runs (started_at, status) VALUES (?, 'running')", (_now(),))
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, indexed: int, deleted: int, embedded: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, files_indexed = ?, files_deleted = ?, "
                "chunks_embedded = ? WHERE id = ?",
                (_now(), status, indexed, deleted, embedded, run_id),
            )

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # Reads ----------------------------------------------------------------------------------------

    def generation(self) -> int:
        """Grows with every committed write (files or vectors), by any process: readers reload when it moves."""
        return int(self.meta("generation") or 0)

    def files_generation(self) -> int:
        """Grows with every committed file write or delete, but not when only vectors are added (phase 2):
        what depends on files, chunks and symbols alone follows this one."""
        return int(self.meta("files_generation") or 0)

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def file_states(self, root: str) -> dict[str, FileState]:
        rows = self._db.execute(
            "SELECT rel_path, id, size, mtime_ns, content_hash, model_id FROM files WHERE root = ?", (root,)
        )
        return {rel: FileState(*rest) for rel, *rest in rows}

    def cached_vectors(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            batch = hashes[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT text_hash, vector FROM embedding_cache WHERE model_id = ? AND text_hash IN ({marks})",
                (model_id, *batch),
            )
            found.update((h, np.frombuffer(blob, dtype=np.float32)) for h, blob in rows)
        return found

    def model_vectors(self, model_id: str, limit: int = 1_000_000) -> dict[str, np.ndarray]:
        """The vectors of the texts this store holds for a model (the embedding cache), by text hash, at
        most limit."""
        rows = self._db.execute(
            "SELECT text_hash, vector FROM embedding_cache WHERE model_id = ? LIMIT ?", (model_id, limit)
        )
        return {str(text_hash): np.frombuffer(blob, dtype=np.float32) for text_hash, blob in rows}

    @cached_property
    def reads(self) -> SqliteReads:
        """The named reads of this store (ports.IndexReads), over its own connection and as thread-confined."""
        return SqliteReads(self._db)

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Raw read-only SQL for tests and tools; values always travel as parameters.

        Features must not use it: they read through the named methods of `reads` (stores/sqlite_reads.py),
        so that the schema stays inside the store and other adapters can answer the same reads.
        """
        return list(self._db.execute(sql, params).fetchall())

    def stats(self) -> dict[str, object]:
        edges = self._tally("SELECT kind, COUNT(*) FROM edges GROUP BY kind")
        last = self.query(
            "SELECT started_at, finished_at, status, files_indexed, chunks_embedded FROM runs ORDER BY id DESC LIMIT 1"
        )
        fields = ("started", "finished", "status", "files", "chunks_embedded")
        return {
            "store": str(self.path),
            "store_bytes": _size_on_disk(self.path),
            "schema_version": SCHEMA_VERSION,
            "model_id": self.meta("model_id"),
            "files": self._count("files"),
            "chunks": (chunks := self._count("chunks")),
            "symbols": self._count("symbols"),
            "sections": self._count("sections"),
            "tags": self._tally("SELECT 'tags', COUNT(DISTINCT tag) FROM tags")["tags"],
            "vectors": self._count("vectors"),
            "pending_vectors": (pending := self._count("pending_vectors")),
            "dense_coverage": dense_coverage(chunks, pending),
            "edges": edges,
            "edge_total": sum(edges.values()),
            "skipped": self._tally("SELECT reason, COUNT(*) FROM skipped GROUP BY reason ORDER BY 2 DESC"),
            "last_run": dict(zip(fields, last[0], strict=True)) if last else None,
        }

    def _tally(self, sql: str) -> dict[str, int]:
        return {str(key): int(count) for key, count in self._db.execute(sql)}

    def _count(self, table: str) -> int:
        return int(
            self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        )  # Table names come from constants, never from input.


def dense_coverage(chunks: int, pending: int) -> float:
    """The share of chunks that have their vector (1.0 for an empty store: nothing is missing)."""
    return round(1.0 - pending / chunks, 4) if chunks else 1.0


def _statements(script: str) -> list[str]:
    """Split the schema script; the view's body holds no semicolons but its own terminator."""
    return [part.strip() for part in script.split(";\n") if part.strip()]


def _bump_generation(db: sqlite3.Connection, files_changed: bool = False) -> None:
    """Every write moves `generation`; a write that changed files (not only their vectors) also moves
    `files_generation`, which the name index and the file list follow."""
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    if files_changed:
        db.execute(
            "INSERT INTO meta VALUES ('files_generation', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )


# The removal log keeps this many newest entries: a reader that fell further behind loads its matrix whole.
_REMOVAL_LOG_ENTRIES = 200_000


def _prune_removal_log(db: sqlite3.Connection) -> None:
    db.execute(
        "DELETE FROM vector_removals WHERE seq <= (SELECT MAX(seq) FROM vector_removals) - ?", (_REMOVAL_LOG_ENTRIES,)
    )


def _delete_file_rows(db: sqlite3.Connection, file_id: str) -> None:
    logged = db.execute("INSERT INTO vector_removals (row) SELECT rowid FROM vectors WHERE file_id = ?", (file_id,))
    if logged.rowcount:
        _prune_removal_log(db)
    db.execute("DELETE FROM vectors WHERE file_id = ?", (file_id,))
    rowids = [row[0] for row in db.execute("SELECT rid FROM chunks WHERE file_id = ?", (file_id,))]
    db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", ((rid,) for rid in rowids))
    db.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
    for table in FILE_OWNED_TABLES:
        db.execute(
            f"DELETE FROM {table} WHERE file_id = ?", (file_id,)
        )  # Table names come from constants, never from input.


def _insert_file(db: sqlite3.Connection, update: FileUpdate) -> None:
    f = update.file
    stem = Path(f.rel_path).name.split(".")[0].lower()
    db.execute(
        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            f.id,
            f.root,
            f.rel_path,
            stem,
            f.kind,
            f.language,
            f.title,
            f.size,
            f.mtime_ns,
            f.content_hash,
            len(update.chunks),
            update.model_id,
        ),
    )
    for chunk, vector in zip(update.chunks, update.vectors, strict=True):
        if chunk.id in update.pending:
            db.execute(
                "INSERT INTO pending_vectors VALUES (?, ?, ?, ?, ?)",
                (chunk.id, f.id, chunk.text_hash, update.pending[chunk.id], f.mtime_ns),
            )
        cursor = db.execute(
            "INSERT INTO chunks (id, file_id, ordinal, text, text_hash, start_line, start_char, end_line, end_char, "
            "heading_path, symbol, page, token_count, section_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chunk.id,
                chunk.file_id,
                chunk.ordinal,
                chunk.text,
                chunk.text_hash,
                *chunk.span,
                json.dumps(chunk.heading_path, ensure_ascii=False),
                chunk.symbol,
                chunk.page,
                chunk.token_count,
                chunk.section_id,
            ),
        )
        lexical = chunk.lexical_text or chunk.text
        db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cursor.lastrowid, lexical))
        if chunk.id not in update.pending:
            db.execute(
                "INSERT INTO vectors VALUES (?, ?, ?, ?)",
                (chunk.id, f.id, update.model_id, np.asarray(vector, np.float32).tobytes()),
            )
    _insert_graph(db, update)
    db.executemany(
        "INSERT OR IGNORE INTO embedding_cache VALUES (?, ?, ?)",
        ((update.model_id, h, np.asarray(v, np.float32).tobytes()) for h, v in update.embedded_texts.items()),
    )


def _insert_graph(db: sqlite3.Connection, update: FileUpdate) -> None:
    db.executemany(
        "INSERT INTO symbols VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (s.id, s.file_id, s.chunk_id, s.name, s.qualified_name, s.kind, *s.span, s.name_line, s.name_char, s.doc)
            for s in update.symbols
        ),
    )
    db.executemany(
        "INSERT INTO sections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((s.id, s.file_id, s.title, s.level, *s.span, s.parent_id) for s in update.sections),
    )
    file_id = update.file.id
    db.executemany("INSERT INTO tags VALUES (?, ?, ?)", ((file_id, chunk, tag) for chunk, tag in update.tags))
    db.executemany(
        "INSERT INTO links VALUES (?, ?, ?, ?)",
        ((link.file_id, link.chunk_id, link.kind, link.target) for link in update.links),
    )
    db.executemany("INSERT INTO mentions VALUES (?, ?, ?)", ((c, file_id, n) for c, n in update.mentions))


def _journal(db: sqlite3.Connection, backends: tuple[str, ...], file_id: str, op: str) -> None:
    """One outbox row per backend for this file, replacing an older one (only the latest change matters)."""
    db.executemany(
        "INSERT OR REPLACE INTO outbox (backend, file_id, op, created_at) VALUES (?, ?, ?, ?)",
        ((backend, file_id, op, _now()) for backend in backends),
    )


def _size_on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
