"""What a parser makes of one file: plain values, positions as character offsets into the text.

Offsets count Python string indices (Unicode code points) into the decoded text; the chunker turns
them into (line, character) ranges, and the language server converts characters to the client's
position encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DocumentKind = Literal["code", "notes", "docs"]
BlockKind = Literal["preamble", "section", "definition", "code", "paragraph", "page"]
LinkKind = Literal["markdown", "wiki", "import", "url"]


@dataclass(frozen=True)
class Block:
    """A structural unit the chunker keeps together where it can: a section, a definition, a page."""

    start: int
    end: int
    kind: BlockKind
    heading_path: tuple[str, ...] = ()
    symbol: str | None = None
    page: int | None = None
    # A definition's signature line: the context that every part of a definition split by the chunker carries.
    signature: str | None = None


@dataclass(frozen=True)
class SymbolDef:
    """A definition in source code: a function, class, method, struct, interface, enum or type."""

    name: str
    qualified_name: str
    kind: str
    start: int
    end: int
    name_start: int
    name_end: int
    doc: str | None = None


@dataclass(frozen=True)
class Heading:
    """A heading and the extent of its section (up to the next heading of the same or higher level)."""

    title: str
    level: int
    start: int
    end: int


@dataclass(frozen=True)
class Link:
    target: str
    kind: LinkKind
    start: int
    end: int


@dataclass
class ParsedDocument:
    text: str
    kind: DocumentKind
    language: str
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    symbols: list[SymbolDef] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    # Offsets of line starts where a statement begins (code only): where an oversized block is best split.
    breaks: list[int] = field(default_factory=list)
    # Where the content starts: past a note's front matter, which is metadata (title, tags), never a chunk.
    body_start: int = 0
