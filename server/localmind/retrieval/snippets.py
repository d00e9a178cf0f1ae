"""A short excerpt of a chunk around the best-matching line, with the matched words marked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from localmind.indexing.terms import query_terms

_MAX_CHARS = 240


@dataclass(frozen=True)
class Snippet:
    text: str
    line: int  # zero-based line in the file where the excerpt starts
    highlights: list[tuple[int, int]]  # [start, end) character spans inside text


def make_snippet(chunk_text: str, chunk_start_line: int, query: str) -> Snippet:
    terms = [t for t in query_terms(query) if len(t) > 1]
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I) if terms else None
    lines = chunk_text.split("\n")
    best = _best_line(lines, pattern)
    excerpt = "\n".join(line.strip() for line in lines[best : best + 2] if line.strip())[:_MAX_CHARS]
    if not excerpt:
        excerpt = chunk_text.strip()[:_MAX_CHARS]
    spans = [(m.start(), m.end()) for m in pattern.finditer(excerpt)] if pattern else []
    return Snippet(excerpt, chunk_start_line + best, spans)


def _best_line(lines: list[str], pattern: re.Pattern[str] | None) -> int:
    """The line with the most distinct matched terms; the first non-blank line when nothing matches."""
    best, best_score = next((i for i, line in enumerate(lines) if line.strip()), 0), 0
    if pattern is None:
        return best
    for index, line in enumerate(lines):
        score = len({m.group(0).lower() for m in pattern.finditer(line)})
        if score > best_score:
            best, best_score = index, score
    return best
