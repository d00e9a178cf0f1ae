"""Plain text: paragraphs separated by blank lines."""

from __future__ import annotations

import re

from localmind.indexing.documents import Block, ParsedDocument

from .blocks import absorb_blank_blocks

_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def paragraph_blocks(text: str) -> list[Block]:
    """One "paragraph" block per run of non-blank lines, each running up to the next paragraph."""
    starts = [0, *(match.end() for match in _BLANK_LINES.finditer(text))]
    ends = [*starts[1:], len(text)]
    return absorb_blank_blocks(text, [Block(start, end, "paragraph") for start, end in zip(starts, ends, strict=True)])


def parse_text(text: str) -> ParsedDocument:
    return ParsedDocument(text=text, kind="docs", language="text", blocks=paragraph_blocks(text))
