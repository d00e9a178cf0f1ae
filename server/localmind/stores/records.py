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
