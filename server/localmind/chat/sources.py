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

    def to_json(self) -> dict[str, object]:
        value = asdict(self)
        del value["text"], value["language"]
        return value


def number_sources(hits: list[SearchHit], texts: dict[str, str], budget_chars: int) -> list[Source]:
    """Sources [1], [2], … from search hits in rank order: a passage already quoted (same text) is skipped,
    and passages stop once their texts would exceed the budget (the first one is always kept)."""
    sources: list[Source] = []
    seen: set[str] = set()
    used = 0
    for hit in hits:
        text = _without_blank_edges(texts.get(hit.chunk_id, hit.snippet))
        key = text.translate(_NORMALISE).lower()
        if not text or key in seen:
            continue
        if sources and used + len(text) > budget_chars:
            break
        seen.add(key)
        used += len(text)
        language = hit.language if hit.kind == "code" else None
        sources.append(Source(len(sources) + 1, hit.path, hit.uri, hit.range, hit.snippet, text, language))
    return sources


def _without_blank_edges(text: str) -> str:
    """The text without blank lines before or after it; the first line keeps its indentation (code)."""
    lines = text.rstrip().splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)
