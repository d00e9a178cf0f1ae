"""Workspace symbols: hybrid search over symbol names and section headings, for `workspace/symbol`.

Two passes, best first:

1. Names. Symbol names and heading titles that match the query without regard to case: exactly, by
   prefix, or by the prefix of a later part of the name (its camelCase, snake_case or word parts, so
   "conf" finds parse_config and ConfigError, and "flow" finds the heading "Search flow"). The names are
   held in a sorted in-memory index, updated by difference when files are written, and answered by
   bisection, so a keystroke scans no table.
2. Meaning. One hybrid search for the query. Each hit becomes the innermost symbol around its best line
   (else a symbol that its chunk defines), else the innermost heading around that line, else its file.

Each place is listed once, with its best score; name matches score 1 or more, search hits less than 1.

An empty query gives an empty list: nothing was asked for, and an alphabetical slice of the workspace
would be noise (a file's own outline is textDocument/documentSymbol). Hostile input (very long text, FTS5
syntax, quotes, lone surrogates) is searched for as words and never raises. The index is read through its
named reads (IndexReads in stores/ports.py), which bind every value, so nothing a user types becomes SQL.
"""

from __future__ import annotations

import re
import threading
import weakref
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from localmind.indexing.terms import camel_parts
from localmind.retrieval.query import parse_query
from localmind.retrieval.results import Location, Position, Range, SearchHit
from localmind.retrieval.searcher import Searcher
from localmind.stores.ports import IndexReads
from localmind.stores.records import FileSymbol, SectionExtent

_MAX_QUERY_CHARS = 1000
_MAX_PART_KEYS = 8  # Keys per name: its whole form and the forms starting at its next parts.
_MAX_KEYS_SCANNED = 2000  # A one-letter query matches half the names; the first ones are enough.
_MIN_NAMES_MERGED = 256  # Above this many changed names (or a quarter of all), the keys are sorted afresh.
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
    found = _name_matches(searcher, text, limit)
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


class _NameIndex:
    """Every symbol name and heading title of the store, as sorted (key, name) pairs: a name's keys are its
    whole form and the forms starting at its later parts.

    It follows the store's files generation by difference: when files were written, it reads the names and
    titles again (two plain reads, no keys), and inserts the keys of names that appeared and removes those
    of names that disappeared. A re-index changes few names per batch of files, so the request after a
    batch no longer rebuilds and sorts every key (on 10k chunks, 32k keys: about 200 ms of Python that
    competed with the indexer for the interpreter lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation: int | None = None
        self.pairs: list[tuple[str, str]] = []  # (key, name), sorted.
        self.symbol_names: frozenset[str] = frozenset()
        self.headings: dict[str, tuple[str, ...]] = {}  # A heading title -> the ids of its sections.

    def follow(self, reads: IndexReads, generation: int) -> None:
        """Bring the pairs up to the store's names and titles, as of this files generation."""
        if generation == self.generation:
            return
        symbol_names = frozenset(reads.symbol_names())
        headings: dict[str, list[str]] = {}
        for section_id, title in reads.section_titles():
            headings.setdefault(title, []).append(section_id)
        before = self.symbol_names | self.headings.keys()
        after = symbol_names | headings.keys()
        added, removed = after - before, before - after
        if len(added) + len(removed) > max(_MIN_NAMES_MERGED, len(before) // 4):
            self.pairs = sorted((key, name) for name in after for key in _keys(name))
        else:
            self._remove(removed)
            self._insert(added)
        self.symbol_names, self.generation = symbol_names, generation
        self.headings = {title: tuple(ids) for title, ids in headings.items()}

    def _remove(self, names: Iterable[str]) -> None:
        for name in names:
            for key in _keys(name):
                position = bisect_left(self.pairs, (key, name))
                if position < len(self.pairs) and self.pairs[position] == (key, name):
                    del self.pairs[position]

    def _insert(self, names: Iterable[str]) -> None:
        for name in names:
            for key in _keys(name):
                insort(self.pairs, (key, name))

    def names_from(self, wanted: str) -> set[str]:
        """The names with a key that starts with `wanted` (the first few thousand keys at most)."""
        found: set[str] = set()
        start = bisect_left(self.pairs, (wanted,))
        for key, name in self.pairs[start : start + _MAX_KEYS_SCANNED]:
            if not key.startswith(wanted):
                break
            found.add(name)
        return found


_INDEXES: weakref.WeakKeyDictionary[Searcher, _NameIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def _name_matches(searcher: Searcher, query: str, limit: int) -> list[SymbolHit]:
    """The places of the best matching names, in the order of their names' scores."""
    with _INDEXES_LOCK:
        index = _INDEXES.setdefault(searcher, _NameIndex())
    with index.lock:
        index.follow(searcher.reads, searcher.store.files_generation())  # Vectors added by phase 2 change no name.
        scores = _matching_names(index, query)
        headings, symbol_names = index.headings, index.symbol_names
    ranked = sorted(scores, key=lambda name: (-scores[name], len(name), name))[:limit]
    symbols = _symbols_named(searcher.reads, [name for name in ranked if name in symbol_names])
    sections = _sections(searcher.reads, [section for name in ranked for section in headings.get(name, ())])
    found: list[SymbolHit] = []
    for name in ranked:
        places = [sections[s] for s in headings.get(name, ()) if s in sections] + symbols.get(name, [])
        found += [_rescored(place, scores[name]) for place in places]
    return found


def _matching_names(index: _NameIndex, query: str) -> dict[str, float]:
    """The score of each name that has a key starting with the query's parts."""
    wanted = "".join(name_parts(query))
    if not wanted:
        return {}
    return {name: name_score(name, query) for name in index.names_from(wanted)}


def name_parts(text: str) -> list[str]:
    """The case-folded parts of a name: its words, each split at camelCase humps when it is ASCII (the
    hump rule of the lexical index). `parseHTTPResponse` → parse, http, response; `Search flow` → search, flow."""
    words = _WORD.findall(text)
    return [part for word in words for part in ((word.isascii() and camel_parts(word)) or [word.casefold()])]


def _keys(text: str) -> list[str]:
    """The name's parts joined (the whole name), then joined from each later part on."""
    parts = name_parts(text)[:_MAX_PART_KEYS]
    return ["".join(parts[start:]) for start in range(len(parts))]


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


def _symbols_named(reads: IndexReads, names: list[str]) -> dict[str, list[SymbolHit]]:
    """The definitions of each name (a bounded number each), by path and line."""
    found: dict[str, list[SymbolHit]] = {name: [] for name in names}
    for row in reads.symbol_places(names, _ROWS_PER_NAME):
        span = _span(row.name_line, row.name_char, len(row.name))
        at = Location(_file_uri(row.root, row.rel_path), row.rel_path, row.root, span)
        found.setdefault(row.name, []).append(_symbol_hit(row.name, row.qualified_name, row.kind, at))
    return found


def _symbol_hit(name: str, qualified: str, kind: str, at: Location) -> SymbolHit:
    """A symbol's hit; its container is its parent (the class of a method), else its file."""
    parent = qualified.rpartition(".")[0] if qualified != name else ""
    return SymbolHit(name, kind, at, parent or at.path, 0.0)


def _sections(reads: IndexReads, section_ids: list[str]) -> dict[str, SymbolHit]:
    """Each section as a hit on its heading: the title's range within the heading line when the line
    (read from the chunk that holds it) shows the title as written, else the heading's start."""
    hits: dict[str, SymbolHit] = {}
    for row in reads.section_headings(section_ids):
        if row.id in hits:
            continue
        line_in_chunk = row.start_line - (row.chunk_start_line or 0)
        column = _title_column(row.title, row.chunk_text, line_in_chunk, row.chunk_start_char or 0)
        span = _span(row.start_line, row.start_char if column is None else column, len(row.title))
        at = Location(_file_uri(row.root, row.rel_path), row.rel_path, row.root, span)
        hits[row.id] = SymbolHit(row.title, "section", at, row.parent_title or row.rel_path, 0.0)
    return hits


def _title_column(title: str, chunk_text: str | None, line_in_chunk: int, chunk_char: int) -> int | None:
    """Where the title starts on its heading line, or None when the line is not at hand."""
    if chunk_text is None:
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
    reads = searcher.reads
    files = reads.chunk_files([hit.chunk_id for hit in hits])
    symbols = _file_symbols(reads, list(set(files.values())))
    sections = _file_sections(reads, list(set(files.values())))
    places: list[SymbolHit | str | None] = []
    for hit in hits:
        file_id = files.get(hit.chunk_id, "")
        symbol = _symbol_around(hit, symbols.get(file_id, []))
        places.append(symbol or _section_around(hit.snippet_line, sections.get(file_id, [])))
    headings = _sections(reads, [place for place in places if isinstance(place, str)])
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


def _symbol_hit_in(symbol: FileSymbol, hit: SearchHit) -> SymbolHit:
    """A symbol of the search hit's file as a workspace-symbol hit."""
    at = Location(hit.uri, hit.path, hit.root, _span(symbol.name_line, symbol.name_char, len(symbol.name)))
    return _symbol_hit(symbol.name, symbol.qualified_name, symbol.kind, at)


def _file_symbols(reads: IndexReads, file_ids: list[str]) -> dict[str, list[FileSymbol]]:
    """The symbols of each file, in the order they are defined."""
    symbols: dict[str, list[FileSymbol]] = {}
    for symbol in reads.symbols_in_files(file_ids):
        symbols.setdefault(symbol.file_id, []).append(symbol)
    return symbols


def _symbol_around(hit: SearchHit, symbols: list[FileSymbol]) -> SymbolHit | None:
    """The innermost symbol whose extent holds the hit's best line; else the first symbol the hit's chunk
    defines at or after that line (a doc comment sits above its definition); else its first symbol."""
    line = hit.snippet_line
    around = [s for s in symbols if s.start_line <= line <= s.end_line]
    if around:
        return _symbol_hit_in(max(around, key=lambda s: (s.start_line, -s.end_line)), hit)
    own = [s for s in symbols if s.chunk_id == hit.chunk_id]
    after = [s for s in own if s.name_line >= line]
    return _symbol_hit_in((after or own)[0], hit) if own else None


def _file_sections(reads: IndexReads, file_ids: list[str]) -> dict[str, list[SectionExtent]]:
    """The sections of each file."""
    sections: dict[str, list[SectionExtent]] = {}
    for section in reads.section_extents(file_ids):
        sections.setdefault(section.file_id, []).append(section)
    return sections


def _section_around(line: int, sections: list[SectionExtent]) -> str | None:
    """The deepest section holding the line (a section's end line belongs to the next one)."""
    around = [s for s in sections if s.start_line <= line < max(s.end_line, s.start_line + 1)]
    return max(around, key=lambda s: (s.level, s.start_line)).id if around else None


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
