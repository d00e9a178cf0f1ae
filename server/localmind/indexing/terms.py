"""Code-aware terms for the lexical index, used the same way when indexing and when querying.

SQLite's unicode61 tokenizer already splits on `_`, `.` and `/`, but reads `parseConfigFile` as one
word. So each camelCase or PascalCase identifier also contributes its parts (`parse config file`),
and the chunk's context (file path, headings, symbol) is indexed with its text.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_HUMPS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def camel_parts(word: str) -> list[str]:
    """`parseHTTPResponse2` → ['parse', 'http', 'response', '2']; a plain word gives nothing."""
    parts = [p.lower() for p in _HUMPS.findall(word)]
    return parts if len(parts) > 1 else []


def expansions(text: str) -> list[str]:
    """The extra terms of a text: the parts of its camelCase words, each once, in order."""
    extra: dict[str, None] = {}
    for word in _WORD.findall(text):
        if not word.islower() and not word.isupper():
            extra.update(dict.fromkeys(camel_parts(word)))
    return list(extra)


def lexical_text(context: str, text: str) -> str:
    """What the FTS index holds for a chunk: its context, its text, and the expansions of both."""
    return f"{context}\n{text}\n{' '.join(expansions(context + ' ' + text))}"


def query_terms(query: str) -> list[str]:
    """The words of a query plus their camelCase parts, lower-cased and each once."""
    words = [w.lower() for w in re.findall(r"\w+", query)]
    return list(dict.fromkeys([*words, *expansions(query)]))
