"""The plain values that cross the store ports. Ranges are (start_line, start_char, end_line, end_char)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class FileState:
    """What the manifest remembers of an indexed file, to decide whether it changed."""

    id: str
    size: int
    mtime_ns: int
    content_hash: str
    model_id: str


@dataclass(frozen=True)
class FileRecord:
    id: str
    root: str
    rel_path: str
    kind: str
    language: str
    title: str | None
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    file_id: str
    ordinal: int
    text: str
    text_hash: str
    span: Span
    heading_path: tuple[str, ...]
    symbol: str | None
    page: int | None
    token_count: int
    section_id: str | None
    lexical_text: str = ""  # What the full-text index holds: context, text and code-aware terms.


@dataclass(frozen=True)
class SymbolRecord:
    id: str
    file_id: str
    chunk_id: str | None
    name: str
    qualified_name: str
    kind: str
    span: Span
    name_line: int
    name_char: int
    doc: str | None


@dataclass(frozen=True)
class SectionRecord:
    id: str
    file_id: str
    title: str
    level: int
    span: Span
    parent_id: str | None


@dataclass(frozen=True)
class LinkRecord:
    """A link out of a file: to a workspace path (kind markdown/import), a note name (wiki) or a URL."""

    file_id: str
    chunk_id: str | None
    kind: str
    target: str


@dataclass
class FileUpdate:
    """Everything one file contributes to the stores; written in one transaction."""

    file: FileRecord
    chunks: list[ChunkRecord]
    vectors: np.ndarray
    model_id: str
    symbols: list[SymbolRecord] = field(default_factory=list)
    sections: list[SectionRecord] = field(default_factory=list)
    tags: list[tuple[str | None, str]] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)
    embedded_texts: dict[str, np.ndarray] = field(default_factory=dict)
    # Chunks whose vectors come later (two-phase indexing): chunk id → the text the model will read. Their
    # rows of `vectors` are placeholders and are not stored.
    pending: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingVector:
    """A chunk waiting for its vector: what phase 2 of a run embeds."""

    chunk_id: str
    file_id: str
    text_hash: str
    embed_text: str


# Read-side values: what the named reads of the index (stores/ports.py `IndexReads`) answer with. -------

# A chunk as search units see it: chunk id, file id, the file's kind, the chunk's symbol, its heading path
# (JSON). A plain tuple: the searcher reads one for every candidate of every query.
UnitRow = tuple[str, str, str, str | None, str]


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """An indexed file: its id, its root and its path within the root."""

    id: str
    root: str
    rel_path: str


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the search filters test of an indexed file."""

    id: str
    root: str
    rel_path: str
    kind: str
    language: str


@dataclass(frozen=True, slots=True)
class FilePosition:
    """A (line, character) position within a file of a root."""

    root: str
    rel_path: str
    line: int
    character: int


@dataclass(frozen=True, slots=True)
class SymbolDeclaration:
    """Where a symbol's name stands in its file."""

    root: str
    rel_path: str
    name: str
    name_line: int
    name_char: int


@dataclass(frozen=True, slots=True)
class SymbolPlace:
    """A definition of a symbol, by its name's position, with its qualified name and kind."""

    name: str
    qualified_name: str
    kind: str
    name_line: int
    name_char: int
    root: str
    rel_path: str


@dataclass(frozen=True, slots=True)
class SymbolDefinition:
    """A definition with its doc and the text of the chunk that holds it (None when it has no chunk)."""

    name: str
    qualified_name: str
    kind: str
    name_line: int
    name_char: int
    doc: str | None
    chunk_id: str | None
    root: str
    rel_path: str
    chunk_text: str | None
    chunk_start_line: int | None


@dataclass(frozen=True, slots=True)
class OutlineSymbol:
    """A code symbol of one file's outline: its extent, its name's position and its doc."""

    name: str
    qualified_name: str
    kind: str
    span: Span
    name_line: int
    name_char: int
    doc: str | None


@dataclass(frozen=True, slots=True)
class OutlineSection:
    """A section of one file's outline: its title, its extent and the section it is nested in."""

    id: str
    title: str
    span: Span
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class FileSymbol:
    """A symbol of a file, with the lines its definition covers and the chunk that defines it."""

    file_id: str
    name: str
    qualified_name: str
    kind: str
    name_line: int
    name_char: int
    start_line: int
    end_line: int
    chunk_id: str | None


@dataclass(frozen=True, slots=True)
class SectionExtent:
    """A section of a file: its depth and the lines from its heading to its end."""

    file_id: str
    id: str
    level: int
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class SectionHeading:
    """A section's heading with its parent's title and a chunk holding the heading line (None when none)."""

    id: str
    title: str
    start_line: int
    start_char: int
    root: str
    rel_path: str
    parent_title: str | None
    chunk_text: str | None
    chunk_start_line: int | None
    chunk_start_char: int | None


@dataclass(frozen=True, slots=True)
class NoteMention:
    """A chunk of a note or doc that mentions a name, with its file."""

    chunk_id: str
    file_id: str
    root: str
    rel_path: str


@dataclass(frozen=True, slots=True)
class LocatedText:
    """A chunk's text and where it starts in its file."""

    text: str
    start_line: int
    start_char: int


@dataclass(frozen=True, slots=True)
class HitChunk:
    """A chunk as a search hit shows it: its text and range, its file, and the definition it belongs to.

    `symbol_kind` and `definition` describe the symbol of the chunk's name whose range meets the chunk's;
    both are None when there is none.
    """

    id: str
    file_id: str
    text: str
    span: Span
    heading_path: tuple[str, ...]
    symbol: str | None
    root: str
    rel_path: str
    kind: str
    language: str
    symbol_kind: str | None
    definition: Span | None


@dataclass(frozen=True, slots=True)
class FilePassage:
    """One chunk of a file, in order, with the facts of its file (the same on every passage)."""

    text: str
    span: Span
    heading_path: tuple[str, ...]
    symbol: str | None
    file_kind: str
    file_language: str
    file_title: str | None
