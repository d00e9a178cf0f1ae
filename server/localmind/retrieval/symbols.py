"""Workspace symbols: hybrid search over symbol names and section headings, for `workspace/symbol`.

Two passes, best first:

1. Names. Symbol names and heading titles that match the query without regard to case: exactly, by
   prefix, or by the prefix of a later part of the name (its camelCase, snake_case or word parts, so
   "conf" finds parse_config and ConfigError, and "flow" finds the heading "Search flow"). The names are
   held in a sorted in-memory index, rebuilt when the store's generation moves, and answered by bisection,
   so a keystroke scans no table.
2. Meaning. One hybrid search for the query. Each hit becomes the innermost symbol around its best line
   (else a symbol that its chunk defines), else the innermost heading around that line, else its file.

Each place is listed once, with its best score; name matches score 1 or more, search hits less than 1.

An empty query gives an empty list: nothing was asked for, and an alphabetical slice of the workspace
would be noise (a file's own outline is textDocument/documentSymbol). Hostile input (very long text, FTS5
syntax, quotes, lone surrogates) is searched for as words and never raises. Every SQL value is a bound
parameter and lists travel as JSON through json_each, so nothing a user types becomes SQL.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from localmind.indexing.terms import camel_parts
from localmind.retrieval.query import parse_query
from localmind.retrieval.results import Location, Position, Range, SearchHit
from localmind.retrieval.searcher import Searcher
from localmind.stores.sqlite_store import SqliteStore

_MAX_QUERY_CHARS = 1000
_MAX_PART_KEYS = 8  # Keys per name: its whole form and the forms starting at its next parts.
_MAX_KEYS_SCANNED = 2000  # A one-letter query matches half the names; the first ones are enough.
_ROWS_PER_NAME = 20  # Definitions listed for one matching name (`__init__` has thousands).
_SEARCH_DEPTH = (10, 30)  # Hits asked of the search: the limit, kept within these bounds.
_WORD = re.compile(r"[^\W_]+")  # Letters and digits, as SQLite's unicode61 tokenizer splits.


@dataclass(frozen=True)
class SymbolHit:
    name: str
    kind: str  # A symbol's kind ("function", "class", "method"…), "section" or "file".
    location: Location  # The name's range, or the heading's.
    container: str | None  # The enclosing class or heading, else the file's path.
    score: float


def workspace_symbols(searcher: Searcher, query: str, limit: int = 50) -> list[SymbolHit]:
    """Symbols and headings for a query, best first: name matches, then hits of a search by meaning."""
    text = query.encode("utf-8", "replace").decode("utf-8")[:_MAX_QUERY_CHARS].strip()
    if not text or limit < 1:
        return []
    found = _name_matches(searcher.store, _name_index(searcher), text, limit)
    if len(found) < limit:
        found += _meaning_matches(searcher, text, min(max(limit, _SEARCH_DEPTH[0]), _SEARCH_DEPTH[1]))
    return _best_per_place(found)[:limit]


def _best_per_place(hits: list[SymbolHit]) -> list[SymbolHit]:
    """One hit per place (the first seen among equal scores), best first."""
    best: dict[tuple[str, int, int], SymbolHit] = {}
    for hit in hits:
        start = hit.location.range.start
        place = (hit.location.uri, start.line, start.character)
        if place not in best or hit.score > best[place].score:
            best[place] = hit
    return sorted(best.values(), key=lambda hit: -hit.score)


# Names -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    text: str
    section_ids: tuple[str, ...]  # The headings of that title; empty for a symbol name.


@dataclass(frozen=True)
class _NameIndex:
    generation: int
    keys: list[str]  # Sorted.
    numbers: list[int]  # For each key, the number of its name.
    names: list[_Name]


_INDEXES: weakref.WeakKeyDictionary[Searcher, _NameIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def _name_index(searcher: Searcher) -> _NameIndex:
    """The searcher's name index, rebuilt when the store has changed since it was built."""
    generation = searcher.store.generation()
    with _INDEXES_LOCK:
        index = _INDEXES.get(searcher)
    if index is None or index.generation != generation:
        index = _build_name_index(searcher.store, generation)
        with _INDEXES_LOCK:
            _INDEXES[searcher] = index
    return index


def _build_name_index(store: SqliteStore, generation: int) -> _NameIndex:
    headings: dict[str, list[str]] = {}
    for section_id, title in store.query("SELECT id, title FROM sections"):
        headings.setdefault(str(title), []).append(str(section_id))
    names = [_Name(str(name), ()) for (name,) in store.query("SELECT DISTINCT name FROM symbols")]
    names += [_Name(title, tuple(ids)) for title, ids in headings.items()]
    keyed = sorted((key, number) for number, name in enumerate(names) for key in _keys(name.text))
    return _NameIndex(generation, [key for key, _ in keyed], [number for _, number in keyed], names)


def name_parts(text: str) -> list[str]:
    """The case-folded parts of a name: its words, each split at camelCase humps when it is ASCII (the
    hump rule of the lexical index). `parseHTTPResponse` → parse, http, response; `Search flow` → search, flow."""
    words = _WORD.findall(text)
    return [part for word in words for part in ((word.isascii() and camel_parts(word)) or [word.casefold()])]


def _keys(text: str) -> list[str]:
    """The name's parts joined (the whole name), then joined from each later part on."""
    parts = name_parts(text)[:_MAX_PART_KEYS]
    return ["".join(parts[start:]) for start in range(len(parts))]


def _name_matches(store: SqliteStore, index: _NameIndex, query: str, limit: int) -> list[SymbolHit]:
    """The places of the best matching names, in the order of their names' scores."""
    scores = _matching_names(index, query)
    ranked = sorted(scores, key=lambda n: (-scores[n], len(index.names[n].text), index.names[n].text))[:limit]
    chosen = [index.names[n] for n in ranked]
    symbols = _symbols_named(store, [name.text for name in chosen if not name.section_ids])
    sections = _sections(store, [section for name in chosen for section in name.section_ids])
    found: list[SymbolHit] = []
    for n, name in zip(ranked, chosen, strict=True):
        places = [sections[s] for s in name.section_ids if s in sections] if name.section_ids else symbols[name.text]
        found += [_rescored(place, scores[n]) for place in places]
    return found


def _matching_names(index: _NameIndex, query: str) -> dict[int, float]:
    """The score of each name that has a key starting with the query's parts."""
    wanted = "".join(name_parts(query))
    if not wanted:
        return {}
    candidates: set[int] = set()
    start = bisect_left(index.keys, wanted)
    for position in range(start, min(start + _MAX_KEYS_SCANNED, len(index.keys))):
        if not index.keys[position].startswith(wanted):
            break
        candidates.add(index.numbers[position])
    return {number: name_score(index.names[number].text, query) for number in candidates}


def name_score(name: str, query: str) -> float:
    """How well a name matches a query: 4 the same text, 3.5 the same text in another case, 3 the same
    parts ("parse config" for parse_config), 2 to 2.5 a prefix of the whole name, 1 to 1.5 a prefix of a
    later part (the larger the share of the name matched, the higher), 0 no match."""
    if name == query:
        return 4.0
    if name.casefold() == query.casefold():
        return 3.5
    wanted = "".join(name_parts(query))
    keys = _keys(name)
    if not wanted or not keys:
        return 0.0
    if keys[0] == wanted:
        return 3.0
    scores = [(2.0 if start == 0 else 1.0) + 0.5 * len(wanted) / len(key) for start, key in enumerate(keys)]
    return max((score for score, key in zip(scores, keys, strict=True) if key.startswith(wanted)), default=0.0)


def _rescored(hit: SymbolHit, score: float) -> SymbolHit:
    return SymbolHit(hit.name, hit.kind, hit.location, hit.container, round(score, 6))


# Rows to hits ----------------------------------------------------------------------------------------


def _symbols_named(store: SqliteStore, names: list[str]) -> dict[str, list[SymbolHit]]:
    """The definitions of each name (a bounded number each), by path and line."""
    rows = store.query(
        "SELECT name, qualified_name, kind, name_line, name_char, root, rel_path FROM (SELECT s.name, "
        "s.qualified_name, s.kind, s.name_line, s.name_char, f.root, f.rel_path, ROW_NUMBER() OVER "
        "(PARTITION BY s.name ORDER BY f.rel_path, s.name_line) AS n FROM symbols s JOIN files f ON f.id = s.file_id "
        "WHERE s.name IN (SELECT value FROM json_each(?))) WHERE n <= ? ORDER BY rel_path, name_line",
        (json.dumps(names), _ROWS_PER_NAME),
    )
    found: dict[str, list[SymbolHit]] = {name: [] for name in names}
    for name, qualified, kind, line, character, root, rel_path in rows:
        span = _span(_int(line), _int(character), len(str(name)))
        at = Location(_file_uri(str(root), str(rel_path)), str(rel_path), str(root), span)
        found.setdefault(str(name), []).append(_symbol_hit(str(name), str(qualified), str(kind), at))
    return found


def _symbol_hit(name: str, qualified: str, kind: str, at: Location) -> SymbolHit:
    """A symbol's hit; its container is its parent (the class of a method), else its file."""
    parent = qualified.rpartition(".")[0] if qualified != name else ""
    return SymbolHit(name, kind, at, parent or at.path, 0.0)


def _sections(store: SqliteStore, section_ids: list[str]) -> dict[str, SymbolHit]:
    """Each section as a hit on its heading: the title's range within the heading line when the line
    (read from the chunk that holds it) shows the title as written, else the heading's start."""
    rows = store.query(
        "SELECT s.id, s.title, s.start_line, s.start_char, f.root, f.rel_path, p.title, c.text, c.start_line, "
        "c.start_char FROM sections s JOIN files f ON f.id = s.file_id LEFT JOIN sections p ON p.id = s.parent_id "
        "LEFT JOIN chunks c ON c.file_id = s.file_id AND c.start_line <= s.start_line AND c.end_line >= s.start_line "
        "WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY c.ordinal",
        (json.dumps(section_ids),),
    )
    hits: dict[str, SymbolHit] = {}
    for section_id, title, line, character, root, rel_path, parent, text, chunk_line, chunk_char in rows:
        if str(section_id) in hits:
            continue
        column = _title_column(str(title), text, _int(line) - _int(chunk_line or 0), _int(chunk_char or 0))
        span = _span(_int(line), _int(character) if column is None else column, len(str(title)))
        at = Location(_file_uri(str(root), str(rel_path)), str(rel_path), str(root), span)
        hits[str(section_id)] = SymbolHit(str(title), "section", at, str(parent or rel_path), 0.0)
    return hits


def _title_column(title: str, chunk_text: object, line_in_chunk: int, chunk_char: int) -> int | None:
    """Where the title starts on its heading line, or None when the line is not at hand."""
    if not isinstance(chunk_text, str):
        return None
    lines = chunk_text.split("\n")
    if not 0 <= line_in_chunk < len(lines):
        return None
    column = lines[line_in_chunk].find(title)
    if column < 0:
        return None
    return column + (chunk_char if line_in_chunk == 0 else 0)


# Meaning ---------------------------------------------------------------------------------------------


def _meaning_matches(searcher: Searcher, text: str, depth: int) -> list[SymbolHit]:
    """The search's hits as symbols, headings or files, scored below every name match (at most 0.9)."""
    hits = searcher.search(parse_query(query=text, k=depth))
    if not hits:
        return []
    files = _files_of(searcher.store, [hit.chunk_id for hit in hits])
    symbols = _file_symbols(searcher.store, list(set(files.values())))
    sections = _file_sections(searcher.store, list(set(files.values())))
    places: list[SymbolHit | str | None] = []
    for hit in hits:
        file_id = files.get(hit.chunk_id, "")
        symbol = _symbol_around(hit, symbols.get(file_id, []))
        places.append(symbol or _section_around(hit.snippet_line, sections.get(file_id, [])))
    headings = _sections(searcher.store, [place for place in places if isinstance(place, str)])
    top = max(hits[0].score, 1e-9)
    return [
        _rescored(_resolved(place, headings, hit), 0.9 * hit.score / top)
        for hit, place in zip(hits, places, strict=True)
    ]


def _resolved(place: SymbolHit | str | None, headings: dict[str, SymbolHit], hit: SearchHit) -> SymbolHit:
    """A symbol as it is; a section id as its heading; nothing (or a heading gone since) as the hit's file."""
    if isinstance(place, SymbolHit):
        return place
    return headings.get(place, _file_hit(hit)) if place is not None else _file_hit(hit)


def _files_of(store: SqliteStore, chunk_ids: list[str]) -> dict[str, str]:
    rows = store.query(
        "SELECT id, file_id FROM chunks WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(chunk_ids),)
    )
    return {str(chunk): str(file) for chunk, file in rows}


@dataclass(frozen=True)
class _FileSymbol:
    name: str
    qualified_name: str
    kind: str
    name_line: int
    name_char: int
    start_line: int
    end_line: int
    chunk_id: str | None

    def hit_in(self, hit: SearchHit) -> SymbolHit:
        """This symbol as a workspace-symbol hit, in the search hit's file."""
        at = Location(hit.uri, hit.path, hit.root, _span(self.name_line, self.name_char, len(self.name)))
        return _symbol_hit(self.name, self.qualified_name, self.kind, at)


def _file_symbols(store: SqliteStore, file_ids: list[str]) -> dict[str, list[_FileSymbol]]:
    """The symbols of each file, in the order they are defined."""
    rows = store.query(
        "SELECT file_id, name, qualified_name, kind, name_line, name_char, start_line, end_line, chunk_id "
        "FROM symbols WHERE file_id IN (SELECT value FROM json_each(?)) ORDER BY start_line",
        (json.dumps(file_ids),),
    )
    symbols: dict[str, list[_FileSymbol]] = {}
    for file_id, name, qualified, kind, *lines, chunk_id in rows:
        line, character, start, end = (_int(value) for value in lines)
        symbol = _FileSymbol(str(name), str(qualified), str(kind), line, character, start, end, _text(chunk_id))
        symbols.setdefault(str(file_id), []).append(symbol)
    return symbols


def _symbol_around(hit: SearchHit, symbols: list[_FileSymbol]) -> SymbolHit | None:
    """The innermost symbol whose extent holds the hit's best line; else the first symbol the hit's chunk
    defines at or after that line (a doc comment sits above its definition); else its first symbol."""
    line = hit.snippet_line
    around = [s for s in symbols if s.start_line <= line <= s.end_line]
    if around:
        return max(around, key=lambda s: (s.start_line, -s.end_line)).hit_in(hit)
    own = [s for s in symbols if s.chunk_id == hit.chunk_id]
    after = [s for s in own if s.name_line >= line]
    return (after or own)[0].hit_in(hit) if own else None


def _file_sections(store: SqliteStore, file_ids: list[str]) -> dict[str, list[tuple[str, int, int, int]]]:
    """(id, level, first line, end line) of the sections of each file."""
    rows = store.query(
        "SELECT file_id, id, level, start_line, end_line FROM sections "
        "WHERE file_id IN (SELECT value FROM json_each(?))",
        (json.dumps(file_ids),),
    )
    sections: dict[str, list[tuple[str, int, int, int]]] = {}
    for file_id, section_id, level, start, end in rows:
        sections.setdefault(str(file_id), []).append((str(section_id), _int(level), _int(start), _int(end)))
    return sections


def _section_around(line: int, sections: list[tuple[str, int, int, int]]) -> str | None:
    """The deepest section holding the line (a section's end line belongs to the next one)."""
    around = [s for s in sections if s[2] <= line < max(s[3], s[2] + 1)]
    return max(around, key=lambda s: (s[1], s[2]))[0] if around else None


def _file_hit(hit: SearchHit) -> SymbolHit:
    at = Location(hit.uri, hit.path, hit.root, hit.range)
    return SymbolHit(PurePosixPath(hit.path).name, "file", at, hit.path, 0.0)


# Small helpers ---------------------------------------------------------------------------------------


def _span(line: int, character: int, length: int) -> Range:
    return Range(Position(line, character), Position(line, character + length))


@lru_cache(maxsize=4096)
def _file_uri(root: str, rel_path: str) -> str:
    """Cached: Path.as_uri costs microseconds, and a query may list a thousand definitions."""
    return (Path(root) / rel_path).as_uri()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer column, got {value!r}")
    return value
