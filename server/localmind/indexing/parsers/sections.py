"""Headings and section blocks shared by the Markdown and reStructuredText parsers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from localmind.indexing.documents import Block, BlockKind, Heading

from .blocks import absorb_blank_blocks


@dataclass(frozen=True)
class HeadingMark:
    """A heading as a parser found it: where its first line starts, before its section extent is known."""

    title: str
    level: int
    start: int


def headings_with_extents(marks: Sequence[HeadingMark], text_length: int) -> list[Heading]:
    """Each heading's section runs to the next heading of the same or a higher level, or to the end."""
    ends = [text_length] * len(marks)
    open_indexes: list[int] = []
    for index, mark in enumerate(marks):
        while open_indexes and marks[open_indexes[-1]].level >= mark.level:
            ends[open_indexes.pop()] = mark.start
        open_indexes.append(index)
    return [Heading(mark.title, mark.level, mark.start, end) for mark, end in zip(marks, ends, strict=True)]


def _heading_paths(marks: Sequence[HeadingMark]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    stack: list[HeadingMark] = []
    for mark in marks:
        while stack and stack[-1].level >= mark.level:
            stack.pop()
        stack.append(mark)
        paths.append(tuple(open_mark.title for open_mark in stack))
    return paths


def _split_out_code(
    start: int, end: int, kind: BlockKind, path: tuple[str, ...], code_spans: Sequence[tuple[int, int]]
) -> list[Block]:
    """The blocks of one section: its code spans as "code" blocks, the text around them as the section's kind."""
    pieces: list[Block] = []
    cursor = start
    for code_start, code_end in code_spans:
        if code_end <= start or code_start >= end:
            continue
        if code_start > cursor:
            pieces.append(Block(cursor, code_start, kind, path))
        pieces.append(Block(max(code_start, cursor), min(code_end, end), "code", path))
        cursor = min(code_end, end)
    if cursor < end:
        pieces.append(Block(cursor, end, kind, path))
    return pieces


def section_blocks(
    text: str, marks: Sequence[HeadingMark], code_spans: Sequence[tuple[int, int]] = (), body_start: int = 0
) -> list[Block]:
    """A "preamble" before the first heading, then one "section" per heading up to the next heading of any level.

    Code spans (sorted, not overlapping) become "code" blocks carrying the heading path of their section. Text
    before body_start (a note's front matter: metadata, not content) is in no block, so in no chunk.
    """
    bounds = [mark.start for mark in marks] + [len(text)]
    segments: list[tuple[int, int, BlockKind, tuple[str, ...]]] = [
        (body_start, max(bounds[0], body_start), "preamble", ())
    ]
    for index, path in enumerate(_heading_paths(marks)):
        segments.append((bounds[index], bounds[index + 1], "section", path))
    blocks: list[Block] = []
    for start, end, kind, path in segments:
        blocks.extend(_split_out_code(start, end, kind, path, code_spans))
    return absorb_blank_blocks(text, blocks)
