"""Cuts a parsed document into chunks sized in the embedding model's own tokens.

Chunks follow the document's structure where they can. In prose, small neighbouring blocks (sections,
paragraphs) are packed together while they fit, and a block larger than the budget is split into
overlapping windows that end at line breaks where possible. In code, every definition is a chunk of its
own (blocks of different symbols never share one), and a definition larger than the budget is split
into consecutive parts cut before a statement, else at a line start — mid-line only when one line is
longer than the budget — each part carrying its definition's signature line as context. Every chunk
keeps its exact range in the source text.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from localmind.indexing.documents import Block, ParsedDocument

TokenSpans = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True)
class Range:
    """Zero-based lines; characters are code points within the line (the LSP layer converts)."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    start: int
    end: int
    text: str
    range: Range
    token_count: int
    heading_path: tuple[str, ...]
    symbol: str | None
    page: int | None
    kind: str
    # The signature line of the definition this chunk continues (None for a definition's first part and prose).
    context: str | None = None


class LineIndex:
    """Turns character offsets into (line, character) positions; lines end at '\\n'."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        position = text.find("\n")
        while position != -1:
            self.starts.append(position + 1)
            position = text.find("\n", position + 1)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]

    def range(self, start: int, end: int) -> Range:
        return Range(*self.position(start), *self.position(end))


@dataclass(frozen=True)
class _Piece:
    """A run of tokens [first, last) inside one block; continued when it is not the block's first part."""

    block: Block
    first: int
    last: int
    continued: bool = False


@dataclass(frozen=True)
class _CodeCuts:
    """Token indices where a code block may be split: before a statement (preferred) or at any line start."""

    statements: list[int]
    lines: list[int]


def chunk_document(doc: ParsedDocument, token_spans: TokenSpans, size: int, overlap: int) -> list[Chunk]:
    spans = token_spans(doc.text)
    starts = [start for start, _ in spans]
    blocks = doc.blocks or [Block(doc.body_start, len(doc.text), "paragraph")]
    lines = LineIndex(doc.text)
    if doc.kind == "code":
        cuts = _CodeCuts(_token_indexes(starts, doc.breaks), _token_indexes(starts, lines.starts))
        pieces = [piece for block in blocks for piece in _code_pieces(block, starts, size, cuts)]
    else:
        pieces = [piece for block in blocks for piece in _pieces(block, spans, starts, size, overlap, doc.text)]
    return [_make_chunk(doc.text, group, spans, lines, ordinal) for ordinal, group in enumerate(_pack(pieces, size))]


def _token_indexes(starts: list[int], offsets: list[int]) -> list[int]:
    """For each offset, the index of the first token at or after it (sorted, without repeats)."""
    return sorted({bisect.bisect_left(starts, offset) for offset in offsets})


def _code_pieces(block: Block, starts: list[int], size: int, cuts: _CodeCuts) -> list[_Piece]:
    """The block whole when it fits, else parts of about equal size cut where _cut_before says, no overlap."""
    first = bisect.bisect_left(starts, block.start)
    last = bisect.bisect_left(starts, block.end)
    if last <= first:
        return []
    pieces: list[_Piece] = []
    begin = first
    while last - begin > size:
        parts_left = -(-(last - begin) // size)
        end = _cut_before(begin, begin + -(-(last - begin) // parts_left), begin + size, cuts)
        pieces.append(_Piece(block, begin, end, continued=bool(pieces)))
        begin = end
    pieces.append(_Piece(block, begin, last, continued=bool(pieces)))
    return pieces


def _cut_before(begin: int, target: int, limit: int, cuts: _CodeCuts) -> int:
    """The statement start nearest the target between 60 % of it and the limit; else the line start nearest
    the target; else the last line start before the limit; else the limit itself (one line over budget)."""
    floor = begin + max(1, (target - begin) * 3 // 5)
    for candidates in (cuts.statements, cuts.lines):
        low, high = bisect.bisect_left(candidates, floor), bisect.bisect_right(candidates, limit)
        if low < high:
            return min(candidates[low:high], key=lambda cut: abs(cut - target))
    low, high = bisect.bisect_right(cuts.lines, begin), bisect.bisect_right(cuts.lines, limit)
    return cuts.lines[high - 1] if low < high else limit


def _pieces(
    block: Block, spans: list[tuple[int, int]], starts: list[int], size: int, overlap: int, text: str
) -> list[_Piece]:
    """The block as one piece when it fits, else as overlapping windows cut at line ends."""
    first = bisect.bisect_left(starts, block.start)
    last = bisect.bisect_left(starts, block.end)
    if last - first <= size:
        return [_Piece(block, first, last)] if last > first else []
    windows, begin = [], first
    while begin < last:
        end = _window_end(begin, min(begin + size, last), last, spans, text)
        windows.append(_Piece(block, begin, end))
        if end >= last:
            break
        begin = max(end - overlap, begin + 1)
    return windows


def _window_end(begin: int, end: int, last: int, spans: list[tuple[int, int]], text: str) -> int:
    """Pull the window's end back to the last line break in its second half, if there is one."""
    if end >= last:
        return end
    newline = text.rfind("\n", spans[begin][0], spans[end - 1][1])
    if newline == -1:
        return end
    cut = end
    while cut > begin and spans[cut - 1][1] > newline:
        cut -= 1
    return cut if cut - begin >= (end - begin) // 2 else end


def _pack(pieces: Sequence[_Piece], size: int) -> list[list[_Piece]]:
    """Greedy: consecutive whole blocks share a chunk while their tokens fit and they are compatible; windows
    and parts stand alone."""
    groups: list[list[_Piece]] = []
    used = size + 1
    for piece in pieces:
        tokens = piece.last - piece.first
        whole = groups and groups[-1][-1].block is not piece.block
        if whole and used + tokens <= size and _compatible(groups[-1][-1].block, piece.block):
            groups[-1].append(piece)
            used += tokens
        else:
            groups.append([piece])
            used = tokens
    return groups


def _compatible(previous: Block, block: Block) -> bool:
    """Blocks of different pages, or of different symbols (a definition and anything else), are not mixed: a
    code chunk belongs to exactly one definition, so a hit names the innermost definition it matched."""
    return previous.page == block.page and previous.symbol == block.symbol


def _make_chunk(text: str, group: list[_Piece], spans: list[tuple[int, int]], lines: LineIndex, ordinal: int) -> Chunk:
    start, end = spans[group[0].first][0], spans[group[-1].last - 1][1]
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip():  # Keep a line's indentation with its first token.
        start = line_start
    first_block = group[0].block
    symbol = next((p.block.symbol for p in group if p.block.symbol), None)
    return Chunk(
        ordinal=ordinal,
        start=start,
        end=end,
        text=text[start:end],
        range=lines.range(start, end),
        token_count=sum(p.last - p.first for p in group),
        heading_path=first_block.heading_path,
        symbol=symbol,
        page=first_block.page,
        kind=first_block.kind,
        context=first_block.signature if group[0].continued else None,
    )
