"""The named reads of the embedded store (`IndexReads` in ports.py): every SQL statement that search,
navigation, cards, workspace symbols and chat need, each behind a method named for what it answers.

Every value is a bound parameter, and a list travels as one JSON parameter read back by json_each, so
nothing a user types or a file holds becomes SQL. A SqliteReads works on its store's connection, so it is
thread-confined like the store (SqliteStore.reads gives the store's own).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from localmind.stores.records import (
    FileFacts,
    FilePassage,
    FilePosition,
    FileSymbol,
    HitChunk,
    IndexedFile,
    LocatedText,
    NoteMention,
    OutlineSection,
    OutlineSymbol,
    SectionExtent,
    SectionHeading,
    SymbolDeclaration,
    SymbolDefinition,
    SymbolPlace,
    UnitRow,
)


class SqliteReads:
    """The named reads over one open connection to a workspace's store."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # Files -------------------------------------------------------------------------------------------

    def file_facts(self) -> list[FileFacts]:
        """Every indexed file with its root, path, kind and language, in no particular order."""
        rows = self._db.execute("SELECT id, root, rel_path, kind, language FROM files")
        return [FileFacts(*row) for row in rows]

    def file_at(self, roots: Sequence[str], rel_path: str) -> IndexedFile | None:
        """The file at this path in one of these roots (spellings of one root), the smallest id first."""
        row = self._db.execute(
            "SELECT id, root, rel_path FROM files WHERE root IN (SELECT value FROM json_each(?)) AND rel_path = ? "
            "ORDER BY id LIMIT 1",
            (_json_list(roots), rel_path),
        ).fetchone()
        return IndexedFile(*row) if row else None

    def file_with_stem(self, stem: str, preferred_roots: Sequence[str]) -> IndexedFile | None:
        """The best file of this stem: a note before code, one of the preferred roots first, then the shortest path."""
        row = self._db.execute(
            "SELECT id, root, rel_path FROM files WHERE stem = ? "
            "ORDER BY kind = 'code', root NOT IN (SELECT value FROM json_each(?)), length(rel_path), rel_path LIMIT 1",
            (stem, _json_list(preferred_roots)),
        ).fetchone()
        return IndexedFile(*row) if row else None

    def files_mentioning_or_defining(self, names: Sequence[str]) -> list[tuple[str, str]]:
        """(root, path) of the files, PDFs aside, that mention or define one of the names, by root and path."""
        rows = self._db.execute(
            "SELECT root, rel_path FROM files WHERE language != 'pdf' AND id IN ("
            "SELECT file_id FROM mentions WHERE name IN (SELECT value FROM json_each(?1)) "
            "UNION SELECT file_id FROM symbols WHERE name IN (SELECT value FROM json_each(?1))) "
            "ORDER BY root, rel_path",
            (_json_list(names),),
        )
        return [(root, rel_path) for root, rel_path in rows]

    def tagged_files(self, tags: Sequence[str], limit: int) -> list[tuple[str, str, str]]:
        """(root, path, tag as written) of the files carrying one of the tags (exact case), by path."""
        rows = self._db.execute(
            "SELECT DISTINCT f.root, f.rel_path, t.tag FROM tags t JOIN files f ON f.id = t.file_id "
            "WHERE t.tag IN (SELECT value FROM json_each(?)) ORDER BY f.rel_path LIMIT ?",
            (_json_list(tags), limit),
        )
        return [(root, rel_path, tag) for root, rel_path, tag in rows]

    def file_passages(self, root: str, rel_path: str) -> list[FilePassage]:
        """The chunks of the file at this root and path in order; empty when it is not indexed."""
        rows = self._db.execute(
            "SELECT c.text, c.start_line, c.start_char, c.end_line, c.end_char, c.heading_path, c.symbol, "
            "f.kind, f.language, f.title FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE f.root = ? AND f.rel_path = ? ORDER BY c.ordinal",
            (root, rel_path),
        )
        return [
            FilePassage(text, (sl, sc, el, ec), tuple(json.loads(headings)), symbol, kind, language, title)
            for text, sl, sc, el, ec, headings, symbol, kind, language, title in rows
        ]

    # Chunks ------------------------------------------------------------------------------------------

    def chunk_count(self) -> int:
        """How many chunks the index holds."""
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunk_files(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """The file id of each of these chunks."""
        rows = self._db.execute(
            "SELECT id, file_id FROM chunks WHERE id IN (SELECT value FROM json_each(?))", (_json_list(chunk_ids),)
        )
        return dict(rows)

    def chunk_texts(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """The stored text of each of these chunks."""
        rows = self._db.execute(
            "SELECT id, text FROM chunks WHERE id IN (SELECT value FROM json_each(?))", (_json_list(chunk_ids),)
        )
        return dict(rows)

    def located_chunk_texts(self, chunk_ids: Sequence[str]) -> dict[str, LocatedText]:
        """The stored text of each of these chunks with the position in its file where it starts."""
        rows = self._db.execute(
            "SELECT id, text, start_line, start_char FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
            (_json_list(chunk_ids),),
        )
        return {chunk: LocatedText(text, line, char) for chunk, text, line, char in rows}

    def chunk_units(self, chunk_ids: Sequence[str]) -> list[UnitRow]:
        """For each of these chunks: its id, file id, the file's kind, its symbol and its heading path (JSON)."""
        rows = self._db.execute(
            "SELECT c.id, c.file_id, f.kind, c.symbol, c.heading_path FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE c.id IN (SELECT value FROM json_each(?))",
            (_json_list(chunk_ids),),
        )
        return [
            (str(i), str(file), str(kind), None if symbol is None else str(symbol), str(h))
            for i, file, kind, symbol, h in rows
        ]

    def hit_chunks(self, chunk_ids: Sequence[str]) -> dict[str, HitChunk]:
        """Each of these chunks as a search hit shows it, with its file and the definition it belongs to."""
        # The chunk's own definition: the symbol of its name whose range meets the chunk's (a chunk may start
        # on the doc comment above the definition).
        rows = self._db.execute(
            "SELECT c.id, c.file_id, c.text, c.start_line, c.start_char, c.end_line, c.end_char, c.heading_path, "
            "c.symbol, f.root, f.rel_path, f.kind, f.language, s.kind, "
            "s.start_line, s.start_char, s.end_line, s.end_char "
            "FROM chunks c JOIN files f ON f.id = c.file_id "
            "LEFT JOIN symbols s ON s.file_id = c.file_id AND s.qualified_name = c.symbol "
            "AND s.start_line <= c.end_line AND s.end_line >= c.start_line "
            "WHERE c.id IN (SELECT value FROM json_each(?))",
            (_json_list(chunk_ids),),
        )
        return {row[0]: _hit_chunk(row) for row in rows}

    # Full-text index ---------------------------------------------------------------------------------

    def fts_document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each term, for the terms that some chunk holds."""
        rows = self._db.execute(
            "SELECT term, doc FROM chunks_fts_vocab WHERE term IN (SELECT value FROM json_each(?))",
            (_json_list(terms),),
        )
        return {str(term): int(doc) for term, doc in rows}

    def bm25_chunk_ids(self, expression: str, limit: int, allowed_files: set[str] | None) -> list[str]:
        """Ids of the chunks best matching an FTS5 expression by BM25, best first, optionally only in these files."""
        # The top rows are found before the join, which is much faster than sorting every match. Ordering by
        # bm25() rather than by FTS5's `rank` column gives the same order in about two thirds of the time.
        if allowed_files is None:
            sql = (
                "SELECT c.id FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY score LIMIT ?) AS m JOIN chunks c ON c.rid = m.rowid ORDER BY m.score"
            )
            return [row[0] for row in self._db.execute(sql, (expression, limit))]
        # The unary + keeps the rowid test away from FTS5, which would otherwise run the whole MATCH once per
        # allowed row; as a plain filter it is three times faster than joining every match to its file.
        sql = (
            "SELECT c.id FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
            "AND +rowid IN (SELECT rid FROM chunks WHERE file_id IN (SELECT value FROM json_each(?))) "
            "ORDER BY score LIMIT ?) AS m JOIN chunks c ON c.rid = m.rowid ORDER BY m.score"
        )
        return [row[0] for row in self._db.execute(sql, (expression, json.dumps(sorted(allowed_files)), limit))]

    # Symbols -----------------------------------------------------------------------------------------

    def symbol_names(self) -> list[str]:
        """Every distinct symbol name."""
        return [name for (name,) in self._db.execute("SELECT DISTINCT name FROM symbols")]

    def declarations_named(self, name: str) -> list[SymbolDeclaration]:
        """Symbols whose name or qualified name is `name`: exact names first, then by root, path and position."""
        rows = self._db.execute(
            "SELECT f.root, f.rel_path, s.name, s.name_line, s.name_char FROM symbols s "
            "JOIN files f ON f.id = s.file_id WHERE s.name = ?1 OR s.qualified_name = ?1 "
            "ORDER BY s.name != ?1, f.root, f.rel_path, s.name_line, s.name_char",
            (name,),
        )
        return [SymbolDeclaration(*row) for row in rows]

    def declaration_positions(self, names: Sequence[str]) -> set[FilePosition]:
        """Where every symbol of one of these simple names has its name."""
        rows = self._db.execute(
            "SELECT f.root, f.rel_path, s.name_line, s.name_char FROM symbols s JOIN files f ON f.id = s.file_id "
            "WHERE s.name IN (SELECT value FROM json_each(?))",
            (_json_list(names),),
        )
        return {FilePosition(*row) for row in rows}

    def symbol_definitions(self, name: str, limit: int) -> list[SymbolDefinition]:
        """Up to `limit` symbols whose name or qualified name is `name` (exact names first, then by path and line)."""
        rows = self._db.execute(
            "SELECT s.name, s.qualified_name, s.kind, s.name_line, s.name_char, s.doc, s.chunk_id, f.root, "
            "f.rel_path, c.text, c.start_line FROM symbols s JOIN files f ON f.id = s.file_id "
            "LEFT JOIN chunks c ON c.id = s.chunk_id WHERE s.name = ?1 OR s.qualified_name = ?1 "
            "ORDER BY s.name != ?1, f.rel_path, s.name_line LIMIT ?2",
            (name, limit),
        )
        return [SymbolDefinition(*row) for row in rows]

    def symbol_places(self, names: Sequence[str], per_name: int) -> list[SymbolPlace]:
        """The first `per_name` definitions of each name (by path and line), all of them by path and line."""
        rows = self._db.execute(
            "SELECT name, qualified_name, kind, name_line, name_char, root, rel_path FROM (SELECT s.name, "
            "s.qualified_name, s.kind, s.name_line, s.name_char, f.root, f.rel_path, ROW_NUMBER() OVER "
            "(PARTITION BY s.name ORDER BY f.rel_path, s.name_line) AS n "
            "FROM symbols s JOIN files f ON f.id = s.file_id "
            "WHERE s.name IN (SELECT value FROM json_each(?))) WHERE n <= ? ORDER BY rel_path, name_line",
            (_json_list(names), per_name),
        )
        return [SymbolPlace(*row) for row in rows]

    def file_outline(self, file_id: str) -> list[OutlineSymbol]:
        """The file's symbols by start, an enclosing symbol before the symbols it holds."""
        rows = self._db.execute(
            "SELECT name, qualified_name, kind, start_line, start_char, end_line, end_char, name_line, name_char, doc "
            "FROM symbols WHERE file_id = ? ORDER BY start_line, start_char, end_line DESC, end_char DESC",
            (file_id,),
        )
        return [
            OutlineSymbol(name, qualified, kind, (sl, sc, el, ec), name_line, name_char, doc)
            for name, qualified, kind, sl, sc, el, ec, name_line, name_char, doc in rows
        ]

    def symbols_in_files(self, file_ids: Sequence[str]) -> list[FileSymbol]:
        """The symbols of these files, by their first line."""
        rows = self._db.execute(
            "SELECT file_id, name, qualified_name, kind, name_line, name_char, start_line, end_line, chunk_id "
            "FROM symbols WHERE file_id IN (SELECT value FROM json_each(?)) ORDER BY start_line",
            (_json_list(file_ids),),
        )
        return [FileSymbol(*row) for row in rows]

    def symbols_defined_in(self, chunk_ids: Sequence[str]) -> list[str]:
        """The distinct names of the symbols these chunks define, in order."""
        rows = self._db.execute(
            "SELECT DISTINCT name FROM symbols WHERE chunk_id IN (SELECT value FROM json_each(?)) ORDER BY name",
            (_json_list(chunk_ids),),
        )
        return [name for (name,) in rows]

    # Sections ----------------------------------------------------------------------------------------

    def section_titles(self) -> list[tuple[str, str]]:
        """(id, title) of every section."""
        return [(section, title) for section, title in self._db.execute("SELECT id, title FROM sections")]

    def file_sections(self, file_id: str) -> list[OutlineSection]:
        """The sections of one file, by where they start."""
        rows = self._db.execute(
            "SELECT id, title, start_line, start_char, end_line, end_char, parent_id FROM sections "
            "WHERE file_id = ? ORDER BY start_line, start_char",
            (file_id,),
        )
        return [
            OutlineSection(section, title, (sl, sc, el, ec), parent) for section, title, sl, sc, el, ec, parent in rows
        ]

    def section_extents(self, file_ids: Sequence[str]) -> list[SectionExtent]:
        """The sections of these files with their level and lines."""
        rows = self._db.execute(
            "SELECT file_id, id, level, start_line, end_line FROM sections "
            "WHERE file_id IN (SELECT value FROM json_each(?))",
            (_json_list(file_ids),),
        )
        return [SectionExtent(*row) for row in rows]

    def section_headings(self, section_ids: Sequence[str]) -> list[SectionHeading]:
        """These sections' headings, once per chunk that holds the heading line, in chunk order."""
        rows = self._db.execute(
            "SELECT s.id, s.title, s.start_line, s.start_char, f.root, f.rel_path, p.title, c.text, c.start_line, "
            "c.start_char FROM sections s JOIN files f ON f.id = s.file_id LEFT JOIN sections p ON p.id = s.parent_id "
            "LEFT JOIN chunks c ON c.file_id = s.file_id "
            "AND c.start_line <= s.start_line AND c.end_line >= s.start_line "
            "WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY c.ordinal",
            (_json_list(section_ids),),
        )
        return [SectionHeading(*row) for row in rows]

    # Mentions and tags -------------------------------------------------------------------------------

    def mentions_in_notes(self, names: Sequence[str], limit: int) -> list[NoteMention]:
        """Up to `limit` chunks of notes and docs that mention one of the names (exact case)."""
        rows = self._db.execute(
            "SELECT m.chunk_id, m.file_id, f.root, f.rel_path FROM mentions m JOIN files f ON f.id = m.file_id "
            "WHERE m.name IN (SELECT value FROM json_each(?)) AND f.kind IN ('notes', 'docs') LIMIT ?",
            (_json_list(names), limit),
        )
        return [NoteMention(*row) for row in rows]

    def mentioning_chunks(self, names: Sequence[str], limit: int) -> list[tuple[str, str]]:
        """Up to `limit` distinct (chunk id, file id) of the chunks that mention one of the names."""
        rows = self._db.execute(
            "SELECT DISTINCT chunk_id, file_id FROM mentions WHERE name IN (SELECT value FROM json_each(?)) LIMIT ?",
            (_json_list(names), limit),
        )
        return [(chunk, file) for chunk, file in rows]

    def defined_names_mentioned_in(self, chunk_ids: Sequence[str], limit: int) -> list[tuple[str, int]]:
        """(name, mentions) of the defined names these chunks mention, the most mentioned first, then by name."""
        rows = self._db.execute(
            "SELECT m.name, COUNT(*) AS n FROM mentions m WHERE m.chunk_id IN (SELECT value FROM json_each(?1)) "
            "AND EXISTS (SELECT 1 FROM symbols s WHERE s.name = m.name) GROUP BY m.name ORDER BY n DESC, m.name "
            "LIMIT ?2",
            (_json_list(chunk_ids), limit),
        )
        return [(name, count) for name, count in rows]

    def tag_counts(self, file_ids: Sequence[str], limit: int) -> list[tuple[str, int]]:
        """(tag, uses) of the tags these files carry, the most used first, then by tag."""
        rows = self._db.execute(
            "SELECT tag, COUNT(*) AS n FROM tags WHERE file_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY tag ORDER BY n DESC, tag LIMIT ?",
            (_json_list(file_ids), limit),
        )
        return [(tag, count) for tag, count in rows]


def _json_list(values: Iterable[str]) -> str:
    """A list as the one JSON parameter that json_each reads back."""
    return json.dumps(values if isinstance(values, list) else list(values))


def _hit_chunk(row: Sequence[Any]) -> HitChunk:
    """A row of hit_chunks as its record; the definition only when a symbol was joined."""
    chunk, file_id, text, sl, sc, el, ec, headings, symbol, root, rel_path, kind, language, symbol_kind = row[:14]
    definition = None if symbol_kind is None else (row[14], row[15], row[16], row[17])
    span = (sl, sc, el, ec)
    heading_path = tuple(json.loads(headings))
    return HitChunk(
        chunk, file_id, text, span, heading_path, symbol, root, rel_path, kind, language, symbol_kind, definition
    )
