"""The YAML-like front matter of a Markdown note: only its "title" and "tags" keys, read without a YAML library."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OPENING = re.compile(r"\ufeff?---[ \t\r]*\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t\r]*$", re.MULTILINE)
_TOP_LEVEL_KEY = re.compile(r"([A-Za-z_][\w-]*)[ \t]*:(.*)$")
_LIST_ITEM = re.compile(r"[ \t]*-[ \t]+(.*)$")
_TAG_SEPARATORS = re.compile(r"[,\s]+")
_TAG_KEYS = frozenset({"tags", "tag"})


@dataclass(frozen=True)
class FrontMatter:
    """What the front matter says; end is the offset just past its closing line (0 when there is none)."""

    end: int = 0
    title: str | None = None
    tags: list[str] = field(default_factory=list)


def _unquoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _tag_values(value: str) -> list[str]:
    """Tags from "[a, b]", "a, b" or "a": quotes and a leading '#' removed."""
    inner = value.strip().removeprefix("[").removesuffix("]")
    names = (_unquoted(part).lstrip("#") for part in _TAG_SEPARATORS.split(inner))
    return [name for name in names if name]


def _read_keys(body: str) -> FrontMatter:
    title: str | None = None
    tags: list[str] = []
    key: str | None = None
    for line in body.splitlines():
        item = _LIST_ITEM.match(line)
        if item is not None:
            if key in _TAG_KEYS:
                tags.extend(_tag_values(item.group(1)))
            continue
        entry = _TOP_LEVEL_KEY.match(line)
        if entry is None:
            continue
        key, value = entry.group(1).lower(), entry.group(2)
        if key == "title" and value.strip():
            title = _unquoted(value)
        elif key in _TAG_KEYS:
            tags.extend(_tag_values(value))
    return FrontMatter(0, title, tags)


def read_front_matter(text: str) -> FrontMatter:
    """The front matter between a leading '---' line and the next '---' (or '...') line; empty when unclosed."""
    opening = _OPENING.match(text)
    if opening is None:
        return FrontMatter()
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        return FrontMatter()
    newline = text.find("\n", closing.end())
    keys = _read_keys(text[opening.end() : closing.start()])
    return FrontMatter(len(text) if newline < 0 else newline + 1, keys.title, keys.tags)
