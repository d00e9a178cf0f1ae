"""The ports the indexer writes through and the error every store raises. Adapters live one per file beside this one.

- `FileSink` takes whole-file updates: the graph (SQLite or Neo4j) and the vectors (the embedded index or
  Milvus) each implement it, and each applies an update idempotently.
- `Manifest` is the workspace's local record of what was indexed (always SQLite): file states, the
  embedding cache, skips, runs and the outbox that feeds the server backends.
- `StoreError` is what any adapter raises when it cannot be opened, read or written.
- `IndexReads` is what retrieval and chat read from the index, one named method per question, so that
  no feature holds SQL and a schema change stays inside the adapter (stores/sqlite_reads.py).

The embedded SqliteStore implements both, and writes a file's update in a single transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from localmind.errors import LocalMindError
from localmind.stores.records import (
    FileFacts,
    FilePassage,
    FilePosition,
    FileState,
    FileSymbol,
    FileUpdate,
    HitChunk,
    IndexedFile,
    LocatedText,
    NoteMention,
    OutlineSection,
    OutlineSymbol,
    PendingVector,
    SectionExtent,
    SectionHeading,
    SymbolDeclaration,
    SymbolDefinition,
    SymbolPlace,
    UnitRow,
)


class StoreError(LocalMindError):
    """A store cannot be opened, read or written; the message says what to do."""


class FileSink(Protocol):
    def write_file(self, update: FileUpdate) -> None:
        """Replace everything the file contributed; applying the same update twice changes nothing."""

    def delete_file(self, file_id: str) -> None:
        """Remove everything the file contributed, leaving no orphan nodes, edges, rows or vectors."""


class ReplicaSink(FileSink, Protocol):
    """A server backend fed by the outbox, a batch of files per call (one transaction or request each)."""

    def write_files(self, updates: Sequence[FileUpdate]) -> None:
        """`write_file` for many files at once; when a file appears twice, its last update wins."""

    def delete_files(self, file_ids: Sequence[str]) -> None:
        """`delete_file` for many files at once."""


class EmbeddingCache(Protocol):
    """Vectors shared by a team, keyed by the hash of the exact text embedded (`ids.text_hash`): a client
    gets a vector only for a text it holds, and a text embedded once is never embedded again."""

    def lookup(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of these hashes (those it has)."""

    def publish(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Share vectors a client embedded, by their texts' hashes."""

    def close(self) -> None: ...


class Manifest(Protocol):
    def file_states(self, root: str) -> dict[str, FileState]: ...

    def touch_file(self, file_id: str, size: int, mtime_ns: int) -> None: ...

    def cached_vectors(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]: ...

    def replace_skips(self, root: str, skips: Iterable[tuple[str, str]]) -> None: ...

    def start_run(self) -> int: ...

    def finish_run(self, run_id: int, status: str, indexed: int, deleted: int, embedded: int) -> None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def meta(self, key: str) -> str | None: ...

    def pending_vectors(self, limit: int, first_files: Iterable[str] = ()) -> list[PendingVector]:
        """Chunks written before their vectors (phase 1), those of `first_files` first."""

    def pending_count(self) -> int: ...

    def write_vectors(self, model_id: str, embedded: list[tuple[PendingVector, np.ndarray]]) -> int:
        """Store waiting chunks' vectors in one transaction; answers how many were stored."""


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


class IndexReads(Protocol):
    """The reads that search, navigation, cards, workspace symbols and chat make of one workspace's index.

    Each method answers one question, named for what it answers. Names, paths and ids arrive as values
    (never as query text); a method that takes a list of ids answers only for those it finds.
    """

    # Files ---------------------------------------------------------------------------------------------

    def file_facts(self) -> list[FileFacts]:
        """Every indexed file with its root, path, kind and language, in no particular order."""

    def file_at(self, roots: Sequence[str], rel_path: str) -> IndexedFile | None:
        """The file at this path in one of these roots (spellings of one root), the smallest id first."""

    def file_with_stem(self, stem: str, preferred_roots: Sequence[str]) -> IndexedFile | None:
        """The best file of this stem: a note before code, one of the preferred roots first, then the shortest path."""

    def files_mentioning_or_defining(self, names: Sequence[str]) -> list[tuple[str, str]]:
        """(root, path) of the files, PDFs aside, that mention or define one of the names, by root and path."""

    def tagged_files(self, tags: Sequence[str], limit: int) -> list[tuple[str, str, str]]:
        """(root, path, tag as written) of the files carrying one of the tags (exact case), by path."""

    def file_passages(self, root: str, rel_path: str) -> list[FilePassage]:
        """The chunks of the file at this root and path in order; empty when it is not indexed."""

    # Chunks --------------------------------------------------------------------------------------------

    def chunk_count(self) -> int:
        """How many chunks the index holds."""

    def chunk_files(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """The file id of each of these chunks."""

    def chunk_texts(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """The stored text of each of these chunks."""

    def located_chunk_texts(self, chunk_ids: Sequence[str]) -> dict[str, LocatedText]:
        """The stored text of each of these chunks with the position in its file where it starts."""

    def chunk_units(self, chunk_ids: Sequence[str]) -> list[UnitRow]:
        """For each of these chunks: its id, file id, the file's kind, its symbol and its heading path (JSON)."""

    def hit_chunks(self, chunk_ids: Sequence[str]) -> dict[str, HitChunk]:
        """Each of these chunks as a search hit shows it, with its file and the definition it belongs to."""

    # Full-text index -----------------------------------------------------------------------------------

    def fts_document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each term, for the terms that some chunk holds."""

    def bm25_chunk_ids(self, expression: str, limit: int, allowed_files: set[str] | None) -> list[str]:
        """Ids of the chunks best matching an FTS5 expression by BM25, best first, optionally only in these files."""

    # Symbols -------------------------------------------------------------------------------------------

    def symbol_names(self) -> list[str]:
        """Every distinct symbol name."""

    def declarations_named(self, name: str) -> list[SymbolDeclaration]:
        """Symbols whose name or qualified name is `name`: exact names first, then by root, path and position."""

    def declaration_positions(self, names: Sequence[str]) -> set[FilePosition]:
        """Where every symbol of one of these simple names has its name."""

    def symbol_definitions(self, name: str, limit: int) -> list[SymbolDefinition]:
        """Up to `limit` symbols whose name or qualified name is `name` (exact names first, then by path and line)."""

    def symbol_places(self, names: Sequence[str], per_name: int) -> list[SymbolPlace]:
        """The first `per_name` definitions of each name (by path and line), all of them by path and line."""

    def file_outline(self, file_id: str) -> list[OutlineSymbol]:
        """The file's symbols by start, an enclosing symbol before the symbols it holds."""

    def symbols_in_files(self, file_ids: Sequence[str]) -> list[FileSymbol]:
        """The symbols of these files, by their first line."""

    def symbols_defined_in(self, chunk_ids: Sequence[str]) -> list[str]:
        """The distinct names of the symbols these chunks define, in order."""

    # Sections ------------------------------------------------------------------------------------------

    def section_titles(self) -> list[tuple[str, str]]:
        """(id, title) of every section."""

    def file_sections(self, file_id: str) -> list[OutlineSection]:
        """The sections of one file, by where they start."""

    def section_extents(self, file_ids: Sequence[str]) -> list[SectionExtent]:
        """The sections of these files with their level and lines."""

    def section_headings(self, section_ids: Sequence[str]) -> list[SectionHeading]:
        """These sections' headings, once per chunk that holds the heading line, in chunk order."""

    # Mentions and tags ---------------------------------------------------------------------------------

    def mentions_in_notes(self, names: Sequence[str], limit: int) -> list[NoteMention]:
        """Up to `limit` chunks of notes and docs that mention one of the names (exact case)."""

    def mentioning_chunks(self, names: Sequence[str], limit: int) -> list[tuple[str, str]]:
        """Up to `limit` distinct (chunk id, file id) of the chunks that mention one of the names."""

    def defined_names_mentioned_in(self, chunk_ids: Sequence[str], limit: int) -> list[tuple[str, int]]:
        """(name, mentions) of the defined names these chunks mention, the most mentioned first, then by name."""

    def tag_counts(self, file_ids: Sequence[str], limit: int) -> list[tuple[str, int]]:
        """(tag, uses) of the tags these files carry, the most used first, then by tag."""
