"""A search request, validated: nothing a user types reaches SQL or FTS5 as code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from localmind.errors import LocalMindError

Signal = Literal["dense", "lexical", "graph"]
ALL_SIGNALS: tuple[Signal, ...] = ("dense", "lexical", "graph")
MAX_QUERY_CHARS = 10_000


class QueryError(LocalMindError, ValueError):
    """A search request is malformed; the message names the field."""


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(max_length=MAX_QUERY_CHARS)
    k: int | None = Field(None, ge=1, le=200)
    path: str | None = Field(None, max_length=500, description="A glob over workspace-relative paths.")
    kind: Literal["code", "notes", "docs"] | None = None
    language: str | None = Field(None, pattern=r"^[a-z0-9_+-]{1,32}$")
    root: str | None = Field(None, max_length=4096, description="Only this workspace folder.")
    signals: tuple[Signal, ...] = ALL_SIGNALS

    @field_validator("path")
    @classmethod
    def _plain_glob(cls, value: str | None) -> str | None:
        if value is not None and ("\0" in value or not value.strip()):
            raise ValueError("path must be a non-empty glob without NUL characters")
        return value

    @field_validator("signals")
    @classmethod
    def _some_signal(cls, value: tuple[Signal, ...]) -> tuple[Signal, ...]:
        if not value:
            raise ValueError("at least one signal is needed")
        return tuple(dict.fromkeys(value))


def parse_query(**fields: object) -> SearchQuery:
    """A SearchQuery from loose input (CLI flags, JSON), or a QueryError naming each bad field."""
    try:
        return SearchQuery.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'query'}: {e['msg']}" for e in exc.errors())
        raise QueryError(f"invalid search: {problems}") from None
