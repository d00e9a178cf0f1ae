"""Code-aware terms for the lexical index, used the same way when indexing and when querying.

SQLite's unicode61 tokenizer already splits on `_`, `.` and `/`, but reads `parseConfigFile` as one
word. So each camelCase or PascalCase identifier also contributes its parts (`parse config file`),
and the chunk's context (file path, headings, symbol) is indexed with its text.
"""

from __future__ import annotations

import re

# Words so common in prose that they carry no signal: a symbol of the same name would link half the
# notes to it, and a query term would match most chunks (slow, and BM25 gives it no weight anyway).
STOPWORDS = frozenset(
    " ".join(
        (
            "a an as at be by do if in is it of on or so to up we he me my no us am i",
            "the and for are but not you all any can her was one our out day get has him his how man new",
            "now old see two way who boy did its let put say she too use this that with have from they will",
            "would there their what about which when make like time just know take into year your good some",
            "could them than then look only come over think also back after work first well even want because",
            "these give most none true false null self return import from def class else elif while none",
            "pass where does should were been being those other such each more very does doing done",
        )
    ).split()
)
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
    """The words of a query plus their camelCase parts, lower-cased and each once, without stop words
    (unless the query holds nothing else)."""
    # Split as SQLite's unicode61 tokenizer does: letters and digits only, so `parse_config` gives
    # `parse` and `config`, the terms the index holds.
    words = list(dict.fromkeys([*(w.lower() for w in re.findall(r"[^\W_]+", query)), *expansions(query)]))
    content = [w for w in words if w not in STOPWORDS]
    return content or words
