"""Helpers that turn the structural spans a parser found into blocks covering the whole text in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from localmind.indexing.documents import Block


def _blank(text: str) -> bool:
    return not text.strip()


def absorb_blank_blocks(text: str, blocks: Iterable[Block], empty: Callable[[str], bool] = _blank) -> list[Block]:
    """Merges every empty block (whitespace-only by default) into the block before it (or, at the start, the
    one after it).

    The input must be contiguous; so is the output, unless the whole text is empty: then there are no blocks.
    """
    merged: list[Block] = []
    pending_start: int | None = None
    for block in blocks:
        if block.start >= block.end:
            continue
        if empty(text[block.start : block.end]):
            if merged:
                merged[-1] = replace(merged[-1], end=block.end)
            elif pending_start is None:
                pending_start = block.start
            continue
        if pending_start is not None:
            block = replace(block, start=pending_start)
            pending_start = None
        merged.append(block)
    return merged


def _line_start(text: str, offset: int, floor: int) -> int:
    """Moves a start back to its line's start when only blanks precede it on that line (never below floor)."""
    line_start = max(text.rfind("\n", 0, offset) + 1, floor)
    return line_start if not text[line_start:offset].strip() else offset


def _line_end(text: str, offset: int) -> int:
    """Moves an end past its line's newline when only blanks follow it there, or a ";" or "," that ends it."""
    newline = text.find("\n", offset)
    line_end = len(text) if newline < 0 else newline + 1
    return line_end if not text[offset:line_end].strip().lstrip(";,") else offset


def whole_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """A span widened to whole lines where only blanks (or a closing ";" or ",") stand beside it."""
    start = _line_start(text, start, 0)
    return start, max(_line_end(text, end), start)
