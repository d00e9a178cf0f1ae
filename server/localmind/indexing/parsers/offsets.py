"""Conversion from UTF-8 byte offsets (what tree-sitter reports) to character offsets into the text."""

from __future__ import annotations

import re
from bisect import bisect_right

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def encode(text: str) -> bytes:
    """UTF-8 that also carries lone surrogates (left by undecodable bytes), so every character has bytes."""
    return text.encode("utf-8", "surrogatepass")


def _characters_in(utf8: bytes) -> int:
    """Counts the characters a UTF-8 prefix starts: every byte that is not a continuation byte."""
    return sum(1 for byte in utf8 if byte & 0xC0 != 0x80)


class ByteToChar:
    """Maps byte offsets of the UTF-8 encoding of a text to character offsets, in O(log runs) per lookup.

    Only the runs of non-ASCII characters are remembered: outside them one byte is one character, so a byte
    offset maps to itself less the extra bytes of all the runs before it.
    """

    def __init__(self, text: str) -> None:
        self._run_starts: list[int] = []
        self._run_bytes: list[bytes] = []
        self._extra_through: list[int] = []
        extra = 0
        for match in _NON_ASCII_RUN.finditer(text):
            run = encode(match.group())
            self._run_starts.append(match.start() + extra)
            self._run_bytes.append(run)
            extra += len(run) - len(match.group())
            self._extra_through.append(extra)

    def __call__(self, byte_offset: int) -> int:
        index = bisect_right(self._run_starts, byte_offset) - 1
        if index < 0:
            return byte_offset
        inside = byte_offset - self._run_starts[index]
        run = self._run_bytes[index]
        if inside >= len(run):
            return byte_offset - self._extra_through[index]
        extra_before = self._extra_through[index - 1] if index > 0 else 0
        run_start = self._run_starts[index] - extra_before
        return run_start + _characters_in(run[:inside])
