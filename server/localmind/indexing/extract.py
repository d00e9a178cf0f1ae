"""Turns one parsed, chunked file into store records: chunks, symbols, sections, tags, links, mentions.

Deterministic: the same file always gives the same records, with the same ids, in the same order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from localmind.indexing import ids
from localmind.indexing.chunker import Chunk, LineIndex
from localmind.indexing.documents import Heading, ParsedDocument
from localmind.indexing.links import link_targets
from localmind.indexing.terms import STOPWORDS, lexical_text
from localmind.stores.records import ChunkRecord, LinkRecord, SectionRecord, SymbolRecord

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_MAX_MENTIONS_PER_CHUNK = 200


@dataclass
class FileGraph:
    chunks: list[ChunkRecord]
    symbols: list[SymbolRecord]
    sections: list[SectionRecord]
    tags: list[tuple[str | None, str]]
    links: list[LinkRecord]
    mentions: list[tuple[str, str]]


def extract(file_id: str, rel_path: str, doc: ParsedDocument, chunks: list[Chunk]) -> FileGraph:
    lines = LineIndex(doc.text)
    sections = _sections(file_id, doc.headings, lines)
    records = _chunk_records(file_id, chunks, doc.headings, sections, f"{rel_path} {doc.title or ''}")
    symbols = _symbols(file_id, doc, chunks, records, lines)
    return FileGraph(
        chunks=records,
        symbols=symbols,
        sections=sections,
        tags=[(None, tag) for tag in dict.fromkeys(doc.tags)],
        links=_links(file_id, rel_path, doc, chunks, records),
        mentions=_mentions(chunks, records, symbols),
    )


def _chunk_records(
    file_id: str, chunks: list[Chunk], headings: list[Heading], sections: list[SectionRecord], where: str
) -> list[ChunkRecord]:
    seen: Counter[str] = Counter()
    records = []
    for chunk in chunks:
        digest = ids.text_hash(chunk.text)
        occurrence = seen[digest]
        seen[digest] += 1
        section = _innermost(headings, sections, chunk.start)
        records.append(
            ChunkRecord(
                id=ids.chunk_id(file_id, digest, occurrence),
                file_id=file_id,
                ordinal=chunk.ordinal,
                text=chunk.text,
                text_hash=digest,
                span=(chunk.range.start_line, chunk.range.start_char, chunk.range.end_line, chunk.range.end_char),
                heading_path=chunk.heading_path,
                symbol=chunk.symbol,
                page=chunk.page,
                token_count=chunk.token_count,
                section_id=section,
                lexical_text=lexical_text(_lexical_context(where, chunk), chunk.text),
            )
        )
    return records


def _lexical_context(where: str, chunk: Chunk) -> str:
    """What the full-text index holds beside a chunk's text: its path and title, headings, qualified symbol,
    and the signature line of the definition it continues."""
    return " ".join([where, *chunk.heading_path, chunk.symbol or "", chunk.context or ""])


def _sections(file_id: str, headings: list[Heading], lines: LineIndex) -> list[SectionRecord]:
    records: list[SectionRecord] = []
    for index, heading in enumerate(headings):
        parent = next(
            (records[i].id for i in range(index - 1, -1, -1) if headings[i].level < heading.level),
            None,
        )
        span = lines.range(heading.start, heading.end)
        records.append(
            SectionRecord(
                id=ids.section_id(file_id, heading.title, heading.start),
                file_id=file_id,
                title=heading.title,
                level=heading.level,
                span=(span.start_line, span.start_char, span.end_line, span.end_char),
                parent_id=parent,
            )
        )
    return records


def _innermost(headings: list[Heading], sections: list[SectionRecord], offset: int) -> str | None:
    """The deepest section whose extent holds the offset."""
    best: tuple[int, str] | None = None
    for heading, section in zip(headings, sections, strict=True):
        if heading.start <= offset < heading.end and (best is None or heading.level >= best[0]):
            best = (heading.level, section.id)
    return best[1] if best else None


def _chunk_at(chunks: list[Chunk], records: list[ChunkRecord], offset: int) -> str | None:
    for chunk, record in zip(chunks, records, strict=True):
        if chunk.start <= offset < chunk.end:
            return record.id
    return None


def _symbols(
    file_id: str, doc: ParsedDocument, chunks: list[Chunk], records: list[ChunkRecord], lines: LineIndex
) -> list[SymbolRecord]:
    symbols = []
    for symbol in doc.symbols:
        span = lines.range(symbol.start, symbol.end)
        name_line, name_char = lines.position(symbol.name_start)
        symbols.append(
            SymbolRecord(
                id=ids.symbol_id(file_id, symbol.qualified_name, symbol.start),
                file_id=file_id,
                chunk_id=_chunk_at(chunks, records, symbol.name_start),
                name=symbol.name,
                qualified_name=symbol.qualified_name,
                kind=symbol.kind,
                span=(span.start_line, span.start_char, span.end_line, span.end_char),
                name_line=name_line,
                name_char=name_char,
                doc=symbol.doc,
            )
        )
    return symbols


def _mentions(chunks: list[Chunk], records: list[ChunkRecord], symbols: list[SymbolRecord]) -> list[tuple[str, str]]:
    """Identifier-like words of each chunk (code identifiers, inline code, words in prose), minus the
    names the chunk itself defines. They become MENTIONS edges wherever a symbol of that name exists."""
    defined: dict[str | None, set[str]] = {}
    for symbol in symbols:
        defined.setdefault(symbol.chunk_id, set()).add(symbol.name)
    mentions: list[tuple[str, str]] = []
    for chunk, record in zip(chunks, records, strict=True):
        own = defined.get(record.id, set())
        words = dict.fromkeys(w for w in _IDENTIFIER.findall(chunk.text) if w.lower() not in STOPWORDS)
        names = [w for w in words if w not in own][:_MAX_MENTIONS_PER_CHUNK]
        mentions.extend((record.id, name) for name in names)
    return mentions


def _links(
    file_id: str, rel_path: str, doc: ParsedDocument, chunks: list[Chunk], records: list[ChunkRecord]
) -> list[LinkRecord]:
    links = []
    for link in doc.links:
        chunk = _chunk_at(chunks, records, link.start)
        for target in link_targets(rel_path, link.kind, link.target, doc.language):
            links.append(LinkRecord(file_id, chunk, link.kind, target))
    return list(dict.fromkeys(links))
