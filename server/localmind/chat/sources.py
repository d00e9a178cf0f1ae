"""Numbered sources for an answer: the most relevant passages first, duplicates dropped, within a budget."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from localmind.retrieval.results import Range, SearchHit

# Passages whose snippets are this similar (same normalised text) count as duplicates.
_NORMALISE = str.maketrans("", "", " \t\r\n")


@dataclass(frozen=True)
class Source:
    n: int
    path: str
    uri: str
    range: Range
    snippet: str
    text: str
    language: str | None = None  # The source's programming language when it is code, for quoting it as code.
    text_line: int = -1  # The file line `text` starts on (-1: the range's first line).

    def __post_init__(self) -> None:
        if self.text_line < 0:
            object.__setattr__(self, "text_line", self.range.start.line)

    def to_json(self) -> dict[str, object]:
        value = asdict(self)
        del value["text"], value["language"], value["text_line"]
        return value


def number_sources(hits: list[SearchHit], texts: dict[str, str], budget_chars: int) -> list[Source]:
    """Sources [1], [2], … from search hits in rank order: a passage already quoted (same text) is skipped,
    and passages stop once their texts would exceed the budget (the first one is always kept)."""
    sources: list[Source] = []
    seen: set[str] = set()
    used = 0
    for hit in hits:
        text, skipped = _without_blank_edges(texts.get(hit.chunk_id, hit.snippet))
        key = text.translate(_NORMALISE).lower()
        if not text or key in seen:
            continue
        if sources and used + len(text) > budget_chars:
            break
        seen.add(key)
        used += len(text)
        language = hit.language if hit.kind == "code" else None
        first_line = hit.range.start.line + skipped
        sources.append(Source(len(sources) + 1, hit.path, hit.uri, hit.range, hit.snippet, text, language, first_line))
    return sources


def _without_blank_edges(text: str) -> tuple[str, int]:
    """The text without blank lines before or after it (the first line keeps its indentation: code), and how
    many lines were dropped before it."""
    lines = text.rstrip().splitlines()
    skipped = 0
    while lines and not lines[0].strip():
        lines.pop(0)
        skipped += 1
    return "\n".join(lines), skipped
