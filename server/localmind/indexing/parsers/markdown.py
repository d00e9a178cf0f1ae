"""Markdown notes: front matter, ATX and setext headings, sections, fenced code, links, wiki links and tags."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from localmind.indexing.documents import DocumentKind, Link, ParsedDocument

from .frontmatter import read_front_matter
from .languages import path_of
from .links import link_to
from .sections import HeadingMark, headings_with_extents, section_blocks

_FENCE_OPENING = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)$")
_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
# Lines that open a list item or a block quote: a paragraph inside one cannot become a setext heading.
_CONTAINER_LINE = re.compile(r" {0,3}(?:[-+*](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)|>)")
_INDENTED_CODE = re.compile(r"(?: {4}|\t)")
# An inline code span: a run of backticks up to the next run of the same length, within one paragraph.
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.DOTALL)
_NOT_NEWLINE = re.compile(r"[^\n]")
_MARKDOWN_LINK = re.compile(
    r"!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]"
    r"\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)[^\]\n]+\]:[ \t]*(<[^<>\n]*>|\S+)", re.MULTILINE)
_WIKI_LINK = re.compile(r"!?\[\[([^\[\]\n]+)\]\]")
_TAG = re.compile(r"(?<!\S)#([^\W\d_][\w/-]*)")
_DOCS_FOLDERS = frozenset({"docs", "doc"})
_DOCS_NAME_PREFIXES = ("readme", "changelog")


@dataclass
class _Layout:
    """What the line scan finds: heading marks and the extents of fenced code blocks."""

    headings: list[HeadingMark] = field(default_factory=list)
    fences: list[tuple[int, int]] = field(default_factory=list)


def _lines(text: str, start: int) -> Iterator[tuple[int, int, str]]:
    """(line start, next line's start, content without the line break) for each line from start."""
    while start < len(text):
        newline = text.find("\n", start)
        after = len(text) if newline < 0 else newline + 1
        yield start, after, text[start : after if newline < 0 else newline].removesuffix("\r")
        start = after


def _closes_fence(opening: str, content: str) -> bool:
    stripped = content.strip()
    return stripped.startswith(opening) and not stripped.strip(opening[0])


class _LineScanner:
    """Walks the lines once, tracking fenced code and the open paragraph that a setext underline can promote."""

    def __init__(self) -> None:
        self.layout = _Layout()
        self._fence: tuple[str, int] | None = None
        self._paragraph: list[tuple[int, str]] = []
        self._in_container = False

    def feed(self, start: int, after: int, content: str) -> None:
        if self._fence is not None:
            if _closes_fence(self._fence[0], content):
                self.layout.fences.append((self._fence[1], after))
                self._fence = None
            return
        if self._breaks_paragraph(start, content):
            self._end_paragraph()
        elif _CONTAINER_LINE.match(content):
            self._end_paragraph()
            self._in_container = True
        elif not self._in_container and (self._paragraph or not _INDENTED_CODE.match(content)):
            self._paragraph.append((start, content))

    def finish(self, text_length: int) -> _Layout:
        if self._fence is not None:
            self.layout.fences.append((self._fence[1], text_length))
        return self.layout

    def _breaks_paragraph(self, start: int, content: str) -> bool:
        """Fences, headings (recorded here), blank lines and thematic breaks end the open paragraph."""
        if self._opens_fence(start, content) or self._is_heading(start, content):
            return True
        return not content.strip() or _THEMATIC_BREAK.match(content) is not None

    def _end_paragraph(self) -> None:
        self._paragraph = []
        self._in_container = False

    def _opens_fence(self, start: int, content: str) -> bool:
        opening = _FENCE_OPENING.match(content)
        if opening is None or (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            return False
        self._fence = (opening.group(1), start)
        return True

    def _is_heading(self, start: int, content: str) -> bool:
        atx = _ATX_HEADING.match(content)
        if atx is not None and atx.group(2):
            self.layout.headings.append(HeadingMark(atx.group(2).strip(), len(atx.group(1)), start))
            return True
        underline = _SETEXT_UNDERLINE.match(content)
        if underline is None or not self._paragraph or self._in_container:
            return False
        title = " ".join(line.strip() for _, line in self._paragraph)
        level = 1 if underline.group(1)[0] == "=" else 2
        self.layout.headings.append(HeadingMark(title, level, self._paragraph[0][0]))
        return True


def _scan(text: str, start: int) -> _Layout:
    scanner = _LineScanner()
    for line_start, after, content in _lines(text, start):
        scanner.feed(line_start, after, content)
    return scanner.finish(len(text))


def _blanked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with every character of the spans but newlines replaced by spaces, so offsets stay put."""
    pieces: list[str] = []
    cursor = 0
    for start, end in spans:
        pieces.append(text[cursor:start])
        pieces.append(_NOT_NEWLINE.sub(" ", text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _prose(text: str, front_matter_end: int, fences: list[tuple[int, int]]) -> str:
    """The text with front matter, fenced code and inline code blanked out: where links and tags are sought."""
    without_blocks = _blanked(text, [(0, front_matter_end), *fences])
    inline_code = [match.span() for match in _INLINE_CODE.finditer(without_blocks)]
    return _blanked(without_blocks, inline_code)


def _links(prose: str) -> list[Link]:
    found: list[Link | None] = []
    for match in _MARKDOWN_LINK.finditer(prose):
        found.append(link_to(match.group(1), match.start(), match.end()))
    for match in _REFERENCE_DEFINITION.finditer(prose):
        found.append(link_to(match.group(1), match.start(), match.end()))
    for match in _WIKI_LINK.finditer(prose):
        target = _wiki_target(match.group(1))
        found.append(Link(target, "wiki", match.start(), match.end()) if target else None)
    return sorted((link for link in found if link is not None), key=lambda link: link.start)


def wiki_link_targets(text: str) -> list[str]:
    """The note names the wiki links of a text point at, in order: `[[payments#retries|how]]` → payments."""
    return [target for target in map(_wiki_target, _WIKI_LINK.findall(text)) if target]


def wiki_links_as_labels(text: str) -> str:
    """The text with each wiki link replaced by what a reader sees: its label, or else what it names."""
    return _WIKI_LINK.sub(lambda match: _wiki_label(match.group(1)), text)


def _wiki_target(inner: str) -> str:
    return inner.split("|", 1)[0].split("#", 1)[0].strip()


def _wiki_label(inner: str) -> str:
    named, _, label = inner.partition("|")
    return label.strip() or named.strip()


def _unique_tags(tags: Iterable[str]) -> list[str]:
    """Tags in order of first appearance, one per spelling that differs only in case (the first one kept)."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.casefold(), tag)
    return list(seen.values())


def _prose_tags(prose: str) -> list[str]:
    tags = (match.group(1).rstrip("/-") for match in _TAG.finditer(prose))
    return [tag for tag in tags if tag]


def markdown_kind(rel_path: str) -> DocumentKind:
    """The kind "docs" for files in a docs/ or doc/ folder and for README and CHANGELOG files, else "notes"."""
    path = path_of(rel_path)
    in_docs_folder = any(part.lower() in _DOCS_FOLDERS for part in path.parent.parts)
    return "docs" if in_docs_folder or path.name.lower().startswith(_DOCS_NAME_PREFIXES) else "notes"


def parse_markdown(rel_path: str, text: str) -> ParsedDocument:
    front_matter = read_front_matter(text)
    layout = _scan(text, front_matter.end)
    prose = _prose(text, front_matter.end, layout.fences)
    first_h1 = next((mark.title for mark in layout.headings if mark.level == 1), None)
    return ParsedDocument(
        text=text,
        kind=markdown_kind(rel_path),
        language="markdown",
        title=front_matter.title or first_h1,
        tags=_unique_tags([*front_matter.tags, *_prose_tags(prose)]),
        blocks=section_blocks(text, layout.headings, layout.fences, body_start=front_matter.end),
        body_start=front_matter.end,
        headings=headings_with_extents(layout.headings, len(text)),
        links=_links(prose),
    )
