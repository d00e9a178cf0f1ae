"""Editor navigation over a workspace's store: definitions, references, links, outlines and broken links.

Positions are 0-based (line, character) pairs in which a character is one Python string index (a Unicode
code point) within its line, the unit of every range the store holds; lines end at "\\n". The language
server converts characters to the client's encoding (UTF-16 code units unless the client says otherwise).

Exact ranges of words are found in the files on disk, decoded the way the indexer decodes them, because a
chunk's stored text may have secrets masked. The index is read through its named reads (IndexReads in
stores/ports.py), which bind every value, so nothing a user types becomes SQL. Bad input (a path that is
not indexed, an empty name, text that SQLite cannot hold) gives empty results, never an error.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from localmind.indexing.chunker import LineIndex
from localmind.indexing.decode import BinaryFile, decode
from localmind.indexing.documents import Link
from localmind.indexing.links import link_targets
from localmind.indexing.parsers.markdown import parse_markdown
from localmind.retrieval.results import Location, Position, Range
from localmind.stores.ports import IndexReads
from localmind.stores.records import FilePosition, IndexedFile, Span, SymbolDeclaration
from localmind.stores.sqlite_store import SqliteStore

# A URI scheme of two or more characters (as the link parser reads them), so "C:" stays a path.
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
# A line of one repeated punctuation character: a reStructuredText over- or underline.
_ADORNMENT = re.compile(r"""\s*([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])\1*\s*""")
_NOT_IN_SLUG = re.compile(r"[^\w\- ]")
_MAX_REFERENCES = 2000


@dataclass(frozen=True)
class LinkRef:
    """A link found in a document: its kind ("wiki" or "markdown"), its target as written, its anchor."""

    kind: str
    target: str
    anchor: str | None
    range: Range


@dataclass(frozen=True)
class DocumentSymbol:
    """One entry of a document's outline: a code definition or a section, with the entries nested in it."""

    name: str
    kind: str
    range: Range
    selection_range: Range
    detail: str | None
    children: list[DocumentSymbol]


@dataclass(frozen=True)
class BrokenLink:
    range: Range
    target: str
    message: str


@dataclass(frozen=True)
class _FileRef:
    """A file of a root: indexed (with its id), or only present on disk (id None)."""

    id: str | None
    root: str
    rel_path: str


# Words and links in text -----------------------------------------------------------------------------


def word_at(line_text: str, character: int) -> str | None:
    """The identifier under the cursor or just before it, or None on whitespace, punctuation or a number.

    An identifier is a run of letters, digits, underscores and combining marks (Unicode included) that
    does not start with a digit; a cursor past the end of the line counts as being at its end.
    """
    if character < 0:
        return None
    cursor = min(character, len(line_text))
    start = cursor
    while start > 0 and _is_word_character(line_text[start - 1]):
        start -= 1
    end = cursor
    while end < len(line_text) and _is_word_character(line_text[end]):
        end += 1
    word = line_text[start:end]
    return word if word and (word[0].isalpha() or word[0] == "_") else None


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character == "_" or unicodedata.category(character) in ("Mn", "Mc")


def links_in(text: str) -> list[LinkRef]:
    """Every wiki and Markdown link of a Markdown document, in order.

    The indexer's own Markdown parser finds them, so links in front matter, fenced code and inline code
    are skipped exactly as the index skips them; links to an anchor of the same document are left out.
    """
    try:
        found = parse_markdown("document.md", text).links
    except (ValueError, RecursionError):
        return []
    lines = LineIndex(text)
    refs = (_link_ref(text, link, lines) for link in found)
    return [ref for ref in refs if ref is not None]


def link_at(text: str, line: int, character: int) -> LinkRef | None:
    """The link whose range holds the position (its end included), the later one where two touch."""
    position = (line, character)
    holding = [ref for ref in links_in(text) if _start(ref.range) <= position <= _end(ref.range)]
    return holding[-1] if holding else None


def _link_ref(text: str, link: Link, lines: LineIndex) -> LinkRef | None:
    written = text[link.start : link.end]
    destination = _wiki_destination(written) if link.kind == "wiki" else _markdown_destination(written)
    target, _, anchor = destination.partition("#")
    if not target.strip():
        return None
    kind = "wiki" if link.kind == "wiki" else "markdown"
    start_line, start_char = lines.position(link.start)
    end_line, end_char = lines.position(link.end)
    return LinkRef(kind, target.strip(), anchor.strip() or None, _range(start_line, start_char, end_line, end_char))


def _wiki_destination(written: str) -> str:
    """The destination of a wiki link: "design#Local first" from "[[design#Local first|the design]]"."""
    inner = written[written.find("[[") + 2 : -2]
    return inner.split("|", 1)[0]


def _markdown_destination(written: str) -> str:
    """The destination of an inline link "[label](dest "title")" or a reference definition "[label]: dest"."""
    label = written.lstrip(" ").removeprefix("!")
    after = label[_closing_bracket(label) + 1 :]
    if after.startswith(":"):
        return _unbracketed(after[1:].strip())
    inner = after[1:-1].strip() if after.startswith("(") else ""
    if inner.startswith("<"):
        return _unbracketed(inner)
    return inner.split(maxsplit=1)[0] if inner else ""


def _closing_bracket(label: str) -> int:
    """The index of the "]" that closes the label's opening "[" (labels may hold bracketed words)."""
    depth = 0
    for index, character in enumerate(label):
        depth += {"[": 1, "]": -1}.get(character, 0)
        if depth == 0:
            return index
    return len(label)


def _unbracketed(destination: str) -> str:
    if destination.startswith("<"):
        closing = destination.find(">")
        return destination[1:closing] if closing > 0 else destination[1:]
    return destination


def _is_external(target: str) -> bool:
    """True for a URL (http, https, mailto or any other scheme): no file of the workspace."""
    return _URI_SCHEME.match(target) is not None


# The navigator ---------------------------------------------------------------------------------------


class Navigator:
    """Thread-confined like Searcher: one per thread, over that thread's store connection."""

    def __init__(self, store: SqliteStore) -> None:
        """`store` is the calling thread's connection; the caller closes it."""
        self.store = store

    @property
    def reads(self) -> IndexReads:
        """The named reads of the index: the store's own, on this thread."""
        return self.store.reads

    def close(self) -> None:
        """Nothing of its own to close: the store belongs to the caller."""

    def definitions(self, name: str) -> list[Location]:
        """Where symbols whose name or qualified name is `name` are defined: the range of each one's name.

        Exact names come before qualified-name matches; then by root, path and position.
        """
        return [
            _location(d.root, d.rel_path, _word_range(d.name_line, d.name_char, d.name)) for d in self._declared(name)
        ]

    def references(self, name: str, include_declaration: bool) -> list[Location]:
        """Every whole-word occurrence of a defined symbol's name, in the files the index says mention or
        define it, read from disk (so the ranges are exact even where the index masked a secret)."""
        declarations = self._declared(name)
        if not declarations:
            return []
        names = sorted({d.name for d in declarations})
        declared = self._declaration_places(names)
        found: list[Location] = self.definitions(name) if include_declaration else []
        for root, rel_path in self._files_using(names):
            for line, character, word in _occurrences(_read_text(Path(root) / rel_path), names):
                if FilePosition(root, rel_path, line, character) not in declared:
                    found.append(_location(root, rel_path, _word_range(line, character, word)))
            if len(found) >= _MAX_REFERENCES:
                break
        return found[:_MAX_REFERENCES]

    def resolve_link(self, root: Path, rel_path: str, link: LinkRef) -> Location | None:
        """Where a link leads: the start of its file, or the heading its anchor names; None when nowhere.

        A wiki link goes to the file whose stem is its note name (a note before a code file, the linking
        root first, then the shortest path); a Markdown link goes to the path relative to the linking file,
        indexed or at least present on disk.
        """
        target = self._link_target(root, rel_path, link)
        if target is None:
            return None
        return _location(target.root, target.rel_path, self._anchor_range(target, link.anchor))

    def document_symbols(self, root: Path, rel_path: str) -> list[DocumentSymbol]:
        """The file's outline: code symbols nested by qualified name, sections nested by parent section."""
        indexed = self._indexed_file(root, rel_path)
        if indexed is None or indexed.id is None:
            return []
        lines = _lines_of(_read_text(Path(indexed.root) / indexed.rel_path))
        outline = [*self._code_outline(indexed.id), *self._section_outline(indexed.id, lines)]
        return sorted(outline, key=lambda symbol: _start(symbol.range))

    def broken_links(self, root: Path, rel_path: str, text: str) -> list[BrokenLink]:
        """Wiki links to no note of the workspace, and relative Markdown links to files that do not exist."""
        broken = []
        for link in links_in(text):
            if link.kind == "markdown" and _is_external(link.target):
                continue
            if self.resolve_link(root, rel_path, link) is None and not _exists_beside(root, rel_path, link):
                broken.append(BrokenLink(link.range, link.target, _broken_message(link)))
        return broken

    def file_of(self, root: Path, rel_path: str) -> str | None:
        """The id of the indexed file, or None when the file is not indexed."""
        indexed = self._indexed_file(root, rel_path)
        return indexed.id if indexed else None

    # Queries -------------------------------------------------------------------------------------------

    def _declared(self, name: str) -> list[SymbolDeclaration]:
        name = name.strip()
        if not _storable(name):
            return []
        return self.reads.declarations_named(name)

    def _declaration_places(self, names: list[str]) -> set[FilePosition]:
        """Where every symbol of these simple names is declared: no reference, even to a namesake."""
        return self.reads.declaration_positions(names)

    def _files_using(self, names: list[str]) -> list[tuple[str, str]]:
        """The files (PDFs aside) with a chunk that mentions one of the names, or a definition of one."""
        return self.reads.files_mentioning_or_defining(names)

    def _indexed_file(self, root: Path, rel_path: str) -> _FileRef | None:
        rel_path = posixpath.normpath(rel_path) if rel_path else ""
        if not _storable(rel_path) or not rel_path:
            return None
        return _file_ref(self.reads.file_at(_root_names(root), rel_path))

    def _link_target(self, root: Path, rel_path: str, link: LinkRef) -> _FileRef | None:
        if not _storable(link.target) or not link.target:
            return None
        if link.kind == "wiki":
            return self._note_named(root, link.target)
        if _is_external(link.target):
            return None
        return self._file_beside(root, rel_path, link.target)

    def _note_named(self, root: Path, target: str) -> _FileRef | None:
        stem = link_targets("", "wiki", target, "markdown")[0]
        return _file_ref(self.reads.file_with_stem(stem, _root_names(root)))

    def _file_beside(self, root: Path, rel_path: str, target: str) -> _FileRef | None:
        """The file a relative Markdown link names: indexed, or else a plain file present in the root."""
        paths = link_targets(rel_path, "markdown", target, "markdown")
        if not paths:
            return None
        indexed = self._indexed_file(root, paths[0])
        if indexed is not None:
            return indexed
        return _FileRef(None, str(root), paths[0]) if _is_file(root / paths[0]) else None

    def _anchor_range(self, target: _FileRef, anchor: str | None) -> Range:
        """The heading line of the section the anchor names, else the start of the file."""
        start = _range(0, 0, 0, 0)
        if not anchor or target.id is None:
            return start
        wanted = _slug(unquote(anchor))
        for candidate in self.reads.file_sections(target.id):
            if _slug(candidate.title) == wanted:
                section = _span_range(candidate.span)
                lines = _lines_of(_read_text(Path(target.root) / target.rel_path))
                return _heading_line(lines, section)
        return start

    def _code_outline(self, file_id: str) -> list[DocumentSymbol]:
        top: list[DocumentSymbol] = []
        placed: dict[str, list[DocumentSymbol]] = {}
        for row in self.reads.file_outline(file_id):
            symbol = DocumentSymbol(
                name=row.name,
                kind=row.kind,
                range=_span_range(row.span),
                selection_range=_word_range(row.name_line, row.name_char, row.name),
                detail=_first_line(row.doc),
                children=[],
            )
            parent = _enclosing(placed.get(row.qualified_name.rpartition(".")[0], []), symbol.range)
            (parent.children if parent else top).append(symbol)
            placed.setdefault(row.qualified_name, []).append(symbol)
        return top

    def _section_outline(self, file_id: str, lines: list[str]) -> list[DocumentSymbol]:
        top: list[DocumentSymbol] = []
        placed: dict[str, DocumentSymbol] = {}
        for section in self.reads.file_sections(file_id):
            extent = _span_range(section.span)
            symbol = DocumentSymbol(section.title, "section", extent, _heading_line(lines, extent), None, [])
            parent = placed.get(section.parent_id) if section.parent_id is not None else None
            (parent.children if parent else top).append(symbol)
            placed[section.id] = symbol
        return top


# Helpers ---------------------------------------------------------------------------------------------


def _range(start_line: int, start_char: int, end_line: int, end_char: int) -> Range:
    return Range(Position(start_line, start_char), Position(end_line, end_char))


def _span_range(span: Span) -> Range:
    return _range(*span)


def _file_ref(indexed: IndexedFile | None) -> _FileRef | None:
    return _FileRef(indexed.id, indexed.root, indexed.rel_path) if indexed else None


def _word_range(line: int, character: int, word: str) -> Range:
    return _range(line, character, line, character + len(word))


def _start(extent: Range) -> tuple[int, int]:
    return extent.start.line, extent.start.character


def _end(extent: Range) -> tuple[int, int]:
    return extent.end.line, extent.end.character


def _location(root: str, rel_path: str, extent: Range) -> Location:
    return Location(uri=(Path(root) / rel_path).as_uri(), path=rel_path, root=root, range=extent)


def _storable(text: str) -> bool:
    """False for text SQLite cannot bind: lone surrogates have no UTF-8 form."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _root_names(root: Path) -> list[str]:
    """The root as given and as resolved (the index stores resolved roots)."""
    names = [str(root)]
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        names.append(str(root.resolve()))
    return names


def _read_text(path: Path) -> str:
    """The file's text decoded as the indexer decodes it, or "" when it cannot be read as text."""
    try:
        return decode(path.read_bytes()).text
    except (OSError, ValueError, BinaryFile):
        return ""


def _lines_of(text: str) -> list[str]:
    return text.split("\n")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _occurrences(text: str, names: list[str]) -> list[tuple[int, int, str]]:
    """(line, character, name) of every whole-word occurrence of the names, in order."""
    found: list[tuple[int, int, str]] = []
    for number, line in enumerate(_lines_of(text)):
        for name in names:
            found.extend((number, character, name) for character in _whole_words(line, name))
    return sorted(found)


def _whole_words(line: str, word: str) -> list[int]:
    starts = []
    position = line.find(word)
    while position != -1:
        after = position + len(word)
        before_ok = position == 0 or not _is_word_character(line[position - 1])
        after_ok = after == len(line) or not _is_word_character(line[after])
        if before_ok and after_ok:
            starts.append(position)
        position = line.find(word, position + 1)
    return starts


def _slug(title: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces as hyphens."""
    return _NOT_IN_SLUG.sub("", title.strip().casefold()).replace(" ", "-")


def _heading_line(lines: list[str], section: Range) -> Range:
    """The line holding a section's title (after a reStructuredText overline), without surrounding blanks."""
    first = section.start.line
    for number in range(first, min(first + 3, len(lines), section.end.line + 1)):
        content = lines[number].rstrip("\r")
        if content.strip() and not _ADORNMENT.fullmatch(content):
            indent = len(content) - len(content.lstrip())
            line_range = _range(number, indent, number, len(content))
            return line_range if _end(line_range) <= _end(section) else _range(number, indent, *_end(section))
    return Range(section.start, section.start)


def _enclosing(candidates: list[DocumentSymbol], extent: Range) -> DocumentSymbol | None:
    """The innermost candidate whose range holds the extent."""
    holding = [c for c in candidates if _start(c.range) <= _start(extent) and _end(extent) <= _end(c.range)]
    return holding[-1] if holding else None


def _first_line(doc: object) -> str | None:
    text = str(doc).strip() if doc is not None else ""
    return text.splitlines()[0] if text else None


def _exists_beside(root: Path, rel_path: str, link: LinkRef) -> bool:
    """For a Markdown link outside the root (or to a folder): whether its path exists next to the linking file."""
    if link.kind != "markdown":
        return False
    target = unquote(link.target)
    base = root if target.startswith("/") else (root / rel_path).parent
    try:
        return (base / target.lstrip("/")).exists()
    except (OSError, ValueError):
        return False


def _broken_message(link: LinkRef) -> str:
    if link.kind == "wiki":
        return f"no note named '{link.target}' in the workspace"
    return f"no file at '{link.target}'"
