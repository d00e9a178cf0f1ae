"""reStructuredText documents: section titles (levels by order of first appearance of each adornment) and links."""

from __future__ import annotations

import re

from localmind.indexing.documents import Link, ParsedDocument

from .links import link_to
from .sections import HeadingMark, headings_with_extents, section_blocks

# A line of one repeated punctuation character.
_ADORNMENT = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])\1*[ \t]*$""")
# `text <target>`_ (or __ for an anonymous link); a target ending in "_" names another target, not a file or URL.
_EMBEDDED_LINK = re.compile(r"`[^`<>]*<([^<>`\n]+)>`__?")
_DOC_ROLE = re.compile(r":doc:`([^`]+)`")
_DOC_ROLE_TARGET = re.compile(r"<([^<>]+)>\s*$")


def _adornment(line: str) -> str | None:
    """The punctuation character of an adornment line, or None for any other line."""
    match = _ADORNMENT.match(line)
    return match.group(1) if match else None


class _TitleFinder:
    """Finds section titles line by line; each adornment style gets the next level when first seen."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self._starts: list[int] = []
        offset = 0
        for line in self._lines:
            self._starts.append(offset)
            offset += len(line)
        self._levels: dict[tuple[str, bool], int] = {}
        self.marks: list[HeadingMark] = []

    def _line(self, index: int) -> str:
        return self._lines[index].rstrip("\r\n") if 0 <= index < len(self._lines) else ""

    def _starts_section(self, index: int) -> bool:
        """A title must start the text or follow a blank line."""
        return index == 0 or not self._line(index - 1).strip()

    def find(self) -> list[HeadingMark]:
        index = 0
        while index < len(self._lines):
            index += self._title_at(index) or 1
        return self.marks

    def _title_at(self, index: int) -> int:
        """The number of lines of the title that starts at this line, 0 when none does."""
        if not self._starts_section(index):
            return 0
        overline = _adornment(self._line(index))
        if overline is not None:
            return self._overlined_title(index, overline)
        title = self._line(index)
        underline = _adornment(self._line(index + 1))
        if underline is None or title[:1].isspace() or not title.strip():
            return 0
        if _adornment(title) is not None or len(self._line(index + 1).rstrip()) < len(title.rstrip()):
            return 0
        self._add(title.strip(), (underline, False), index)
        return 2

    def _overlined_title(self, index: int, overline: str) -> int:
        title = self._line(index + 1)
        underline = self._line(index + 2)
        if not title.strip() or _adornment(title) is not None or _adornment(underline) != overline:
            return 0
        if len(self._line(index).rstrip()) < len(title.strip()):
            return 0
        self._add(title.strip(), (overline, True), index)
        return 3

    def _add(self, title: str, style: tuple[str, bool], index: int) -> None:
        level = self._levels.setdefault(style, len(self._levels) + 1)
        self.marks.append(HeadingMark(title, level, self._starts[index]))


def _links(text: str) -> list[Link]:
    found: list[Link | None] = []
    for match in _EMBEDDED_LINK.finditer(text):
        target = match.group(1).strip()
        if not target.endswith("_"):
            found.append(link_to(target, match.start(), match.end()))
    for match in _DOC_ROLE.finditer(text):
        embedded = _DOC_ROLE_TARGET.search(match.group(1))
        target = (embedded.group(1) if embedded else match.group(1)).strip().lstrip("~!")
        found.append(Link(target, "markdown", match.start(), match.end()) if target else None)
    return sorted((link for link in found if link is not None), key=lambda link: link.start)


def parse_rst(text: str) -> ParsedDocument:
    marks = _TitleFinder(text).find()
    return ParsedDocument(
        text=text,
        kind="docs",
        language="rst",
        title=marks[0].title if marks else None,
        blocks=section_blocks(text, marks),
        headings=headings_with_extents(marks, len(text)),
        links=_links(text),
    )
