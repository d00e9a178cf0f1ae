"""The ports the indexer writes through. Adapters live one per file beside this one.

- `FileSink` takes whole-file updates: the graph (SQLite now, Neo4j later) and the vectors (the embedded
  index now, Milvus later) each implement it, and each applies an update idempotently.
- `Manifest` is the workspace's local record of what was indexed (always SQLite): file states, the
  embedding cache, skips and runs. It is also where the outbox for remote backends will live.

The embedded SqliteStore implements both, and writes a file's update in a single transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from localmind.stores.records import FileState, FileUpdate


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


class IndexStore(FileSink, Manifest, Protocol):
    """What the indexer needs: somewhere to write files, and the manifest that makes runs incremental."""

    def close(self) -> None: ...
