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

    def to_json(self) -> dict[str, object]:
        value = asdict(self)
        del value["text"]
        return value


def number_sources(hits: list[SearchHit], texts: dict[str, str], budget_chars: int) -> list[Source]:
    """Sources [1], [2], … from search hits in rank order: a passage already quoted (same text) is skipped,
    and passages stop once their texts would exceed the budget (the first one is always kept)."""
    sources: list[Source] = []
    seen: set[str] = set()
    used = 0
    for hit in hits:
        text = texts.get(hit.chunk_id, hit.snippet).strip()
        key = text.translate(_NORMALISE).lower()
        if not text or key in seen:
            continue
        if sources and used + len(text) > budget_chars:
            break
        seen.add(key)
        used += len(text)
        sources.append(Source(len(sources) + 1, hit.path, hit.uri, hit.range, hit.snippet, text))
    return sources
