"""The ports the indexer writes through and the error every store raises. Adapters live one per file beside this one.

- `FileSink` takes whole-file updates: the graph (SQLite or Neo4j) and the vectors (the embedded index or
  Milvus) each implement it, and each applies an update idempotently.
- `Manifest` is the workspace's local record of what was indexed (always SQLite): file states, the
  embedding cache, skips, runs and the outbox that feeds the server backends.
- `StoreError` is what any adapter raises when it cannot be opened, read or written.

The embedded SqliteStore implements both, and writes a file's update in a single transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from localmind.errors import LocalMindError
from localmind.stores.records import FileState, FileUpdate


class StoreError(LocalMindError):
    """A store cannot be opened, read or written; the message says what to do."""


class FileSink(Protocol):
    def write_file(self, update: FileUpdate) -> None:
        """Replace everything the file contributed; applying the same update twice changes nothing."""

    def delete_file(self, file_id: str) -> None:
        """Remove everything the file contributed, leaving no orphan nodes, edges, rows or vectors."""


class Manifest(Protocol):
    def file_states(self, root: str) -> dict[str, FileState]: ...

    def touch_file(self, file_id: str, size: int, mtime_ns: int) -> None: ...

    def cached_vectors(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]: ...

    def replace_skips(self, root: str, skips: Iterable[tuple[str, str]]) -> None: ...

    def start_run(self) -> int: ...

    def finish_run(self, run_id: int, status: str, indexed: int, deleted: int, embedded: int) -> None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def meta(self, key: str) -> str | None: ...


class IndexStore(FileSink, Manifest, Protocol):
    """What the indexer needs: somewhere to write files, and the manifest that makes runs incremental."""

    def close(self) -> None: ...


Pairs = list[tuple[str, str]]


class GraphStore(FileSink, Protocol):
    """The knowledge graph: the SQLite tables of the embedded store, or Neo4j. Every method answers for
    one workspace only; ids and names arrive as values (never as query text). Pairs are (from, to)."""

    def definitions_mentioned_by(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → MENTIONS → symbol → the chunk that DEFINES it."""

    def mentions_of_definitions_in(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → DEFINES → symbol → chunks that MENTION it."""

    def linked_chunks(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → its LINKS_TO (wiki, markdown, import) → the first chunk of each linked file."""

    def definitions_named(self, names: Iterable[str]) -> Pairs:
        """A name (exact or qualified) → the chunks defining a symbol of that name."""

    def mentions_named(self, names: Iterable[str]) -> Pairs:
        """A name → chunks that mention a defined symbol of that name."""

    def tagged_chunks(self, tags: Iterable[str]) -> Pairs:
        """A tag (case-insensitive) → the first chunk of each file carrying it."""

    def linked_files_first_chunks(self, file_id: str) -> list[str]:
        """The first chunk of every file this file links to or is linked from."""

    def file_inventory(self) -> dict[str, set[str]]:
        """Every file the graph holds for this workspace → the ids of its chunks (for `localmind verify`)."""

    def close(self) -> None: ...


class VectorStore(FileSink, Protocol):
    """The vectors: the embedded exact index, or Milvus. Scoped to one workspace and one model."""

    def search(self, query: np.ndarray, k: int, allowed_files: set[str] | None = None) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity, best first, optionally only in these files."""

    def file_centroid(self, file_id: str) -> np.ndarray | None:
        """The normalised mean of a file's vectors, or None when it has none."""

    def file_inventory(self) -> dict[str, set[str]]:
        """Every file with vectors in this workspace → the ids of its chunks."""

    def close(self) -> None: ...
