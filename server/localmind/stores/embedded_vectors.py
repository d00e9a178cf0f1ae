"""The embedded vector index: an exact, in-memory float32 matrix over the vectors of the SQLite store.

Exact search is fast enough at workspace scale (about 10 ms for 100k × 384 on one core) and never
misses a neighbour. The matrix follows the store's generation counter, so writes by this process or
another are seen at the next search: vectors added since the last look are appended (as phase 2 of an
indexing pass adds them, step by step), and after a removal (phase 1 rewriting files) the rows that the
store's removal log names are dropped, without reading every vector, or every row's key, again.

Writes go to the SqliteStore, which keeps a file's vectors in the same transaction as the rest of the
file's rows: `write_file` and `delete_file` here are the store's own, so the index is a `VectorStore`
like the Milvus adapter. The index does not own the store, and closing it leaves the store open.
"""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_limits

from localmind.stores.records import FileUpdate
from localmind.stores.sqlite_store import SqliteStore

# One BLAS thread: on a shared 2-core machine more threads made latency erratic, not lower.
threadpool_limits(1, user_api="blas")


class EmbeddedVectorIndex:
    def __init__(self, store: SqliteStore, model_id: str, dimensions: int) -> None:
        self._store = store
        self._model_id = model_id
        self._dimensions = dimensions
        self._generation = -1
        self._removal_seq = 0  # The newest entry of the store's removal log that the matrix reflects.
        self._last_rowid = 0  # The newest vector row in the matrix.
        self._rowids = np.zeros(0, dtype=np.int64)  # The store's row of each matrix row.
        self._lock = threading.Lock()
        self.chunk_ids = np.zeros(0, dtype=object)
        self._file_index = np.zeros(0, dtype=np.int32)
        self._file_ids: list[str] = []
        self._position: dict[str, int] = {}
        self._matrix = np.zeros((0, dimensions), dtype=np.float32)

    def __len__(self) -> int:
        self._refresh()
        return len(self.chunk_ids)

    def write_file(self, update: FileUpdate) -> None:
        """Replace the file's rows, vectors included, in one store transaction."""
        self._store.write_file(update)

    def delete_file(self, file_id: str) -> None:
        """Remove the file's rows, vectors included, in one store transaction."""
        self._store.delete_file(file_id)

    def search(self, query: np.ndarray, k: int, allowed_files: set[str] | None = None) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity (vectors are unit length), best first."""
        self._refresh()
        if not len(self.chunk_ids) or k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32)
        if allowed_files is None:
            scores = self._matrix @ vector
            return [(str(self.chunk_ids[i]), float(scores[i])) for i in _top_k(scores, k)]
        # A filter usually keeps a small part of the index, so only its rows are multiplied.
        allowed = [i for i, f in enumerate(self._file_ids) if f in allowed_files]
        rows = np.flatnonzero(np.isin(self._file_index, allowed))
        scores = self._matrix[rows] @ vector
        return [(str(self.chunk_ids[rows[i]]), float(scores[i])) for i in _top_k(scores, k)]

    def file_centroid(self, file_id: str) -> np.ndarray | None:
        """The normalised mean of a file's vectors: where the file as a whole sits; None when it has none."""
        self._refresh()
        if file_id not in self._position:
            return None
        rows = self._matrix[self._file_index == self._position[file_id]]
        if not len(rows):
            return None
        mean = rows.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else None

    def file_inventory(self) -> dict[str, set[str]]:
        """Every file with vectors of this model → the ids of its chunks."""
        self._refresh()
        with self._lock:  # One reload's arrays, never a mix of two.
            chunk_ids, positions, file_ids = self.chunk_ids, self._file_index, list(self._file_ids)
        inventory: dict[str, set[str]] = {}
        for chunk_id, position in zip(chunk_ids, positions, strict=True):
            inventory.setdefault(file_ids[position], set()).add(str(chunk_id))
        return inventory

    def close(self) -> None:
        """Drop the matrix; the store stays open for its owner. A later search reloads it."""
        with self._lock:
            self._load([])
            self._generation = -1

    def _refresh(self) -> None:
        """Catch up with the store: append the vectors stored since the last look, after dropping the rows that
        were removed meanwhile (phase 1 replaces a changed file's rows)."""
        generation = self._store.generation()
        if generation == self._generation:
            return
        with self._lock:
            logged = self._store.vector_removals_since(self._removal_seq)  # Before the rows: later ones wait.
            if logged is None:  # Removals this matrix has not seen were pruned from the log: load it whole.
                self._removal_seq = self._store.vector_removal_seq()
                self._load(self._store.vector_rows(self._model_id))
            else:
                removed, self._removal_seq = logged
                if removed:
                    self._drop(removed)
                self._append(self._store.vector_rows(self._model_id, self._last_rowid))
            self._generation = generation

    def _drop(self, rows: list[int]) -> None:
        """Drop the matrix rows whose store rows were removed, so that the rows after the newest one kept are
        what is left to append. SQLite numbers a new row one past the highest row number present, so a row
        number freed by removing the newest rows can come back on a later vector: that one is above the
        newest row kept, and is appended."""
        keep = ~np.isin(self._rowids, np.asarray(rows, dtype=np.int64))
        # New arrays, as in _append: `file_inventory` copies one consistent set under the lock.
        self._matrix, self.chunk_ids = self._matrix[keep], self.chunk_ids[keep]
        self._file_index, self._rowids = self._file_index[keep], self._rowids[keep]
        self._last_rowid = int(self._rowids.max()) if len(self._rowids) else 0

    def _load(self, rows: list[tuple[int, str, str, bytes]]) -> None:
        self.chunk_ids = np.zeros(0, dtype=object)
        self._file_index = np.zeros(0, dtype=np.int32)
        self._file_ids, self._position = [], {}
        self._matrix = np.zeros((0, self._dimensions), dtype=np.float32)
        self._last_rowid = 0
        self._rowids = np.zeros(0, dtype=np.int64)
        self._append(rows)

    def _append(self, rows: list[tuple[int, str, str, bytes]]) -> None:
        if not rows:
            return
        for _, _, file_id, _ in rows:
            if file_id not in self._position:
                self._position[file_id] = len(self._file_ids)
                self._file_ids.append(file_id)
        added = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), self._dimensions)
        chunk_ids = np.array([r[1] for r in rows], dtype=object)
        file_index = np.array([self._position[r[2]] for r in rows], dtype=np.int32)
        # New arrays, never changed in place: `file_inventory` copies one consistent set under the lock, and
        # searches run on the thread that refreshes.
        self._matrix = np.concatenate([self._matrix, added]) if len(self._matrix) else added
        self.chunk_ids = np.concatenate([self.chunk_ids, chunk_ids])
        self._file_index = np.concatenate([self._file_index, file_index])
        self._rowids = np.concatenate([self._rowids, np.array([r[0] for r in rows], dtype=np.int64)])
        self._last_rowid = rows[-1][0]


def _top_k(scores: np.ndarray, k: int) -> list[int]:
    if k >= len(scores):
        return [int(i) for i in np.argsort(-scores)]
    part = np.argpartition(-scores, k)[:k]
    return [int(i) for i in part[np.argsort(-scores[part])]]
