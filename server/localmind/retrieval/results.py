"""The result shape shared by the CLI, the language server and the clients."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True)
class SearchHit:
    uri: str
    path: str
    root: str
    range: Range
    snippet: str
    snippet_line: int
    highlights: list[tuple[int, int]]
    symbol: str | None
    heading: list[str]
    kind: str
    language: str
    score: float
    provenance: str
    ranks: dict[str, int]
    chunk_id: str
    # The innermost definition a code hit lies in: its kind and whole range (None for prose).
    symbol_kind: str | None = None
    definition: Range | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Location:
    """A place in a file: what definitions, references, citations and card links point at."""

    uri: str
    path: str
    root: str
    range: Range

    def to_json(self) -> dict[str, object]:
        return asdict(self)
