"""Redaction of secrets in what Local Mind writes out: log records, doctor reports, anything sent away.

Two kinds of input:

* **Mappings and JSON-like values** (`redact_value`). A key names a secret when its name, split into
  words (``camelCase``, ``snake_case``, ``kebab-case``, dotted; trailing numbers dropped), *is or ends
  with* a secret word: ``password(s)``, ``passwd``, ``passphrase``, ``pwd``, ``secret(s)``, ``token``,
  ``auth``, ``authorization``, ``credential(s)``, ``cookie(s)``, ``session``, ``api key(s)``,
  ``apikey``, ``private key``, ``access key``, ``secret key``. Its whole value (text, number, mapping
  or list) becomes ``***``; ``None``, booleans and empty strings stay, so a report still shows whether
  a secret is set. Only the *last* words count, so keys that merely mention a secret word are kept:
  ``token_count``, ``max_tokens``, ``tokens`` (a count), ``context_tokens``, ``tokenizer``,
  ``first_token_timeout``, ``password_file``, ``secret_files``, ``access_key_id``, ``oauth``,
  ``author``. Other strings are redacted as free text (so a URL's password is masked under any key),
  and ``(name, value)`` pairs in a list, as HTTP headers come, count as keys and values.
* **Free text** (`redact_text`): ``Authorization: Bearer …`` / ``Basic …`` values of any length (the
  scheme stays), assignments whose key names a secret by the rule above (``password=…``,
  ``token: …``, ``"api_key": "…"``, ``{'secret': '…'}``), and everything `localmind.secret_masking`
  finds, whose patterns live there only: the password of ``scheme://user:password@host`` (the user
  stays), private-key blocks, AWS, GitHub, GitLab, Slack, Stripe, OpenAI and Google keys, JSON Web
  Tokens… One exception keeps Local Mind's own messages readable: ``setting graph.password: …``
  names a setting, not a value, and is left alone.

A secret becomes ``***``, whatever its length (the indexer keeps lengths, logs need not). Pydantic's
`SecretStr` is left as it is: it already prints ``**********``. Redaction is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from localmind.secret_masking import redact as _find_and_mask

MASK = "***"

# A key is a secret when its last word is one of these...
_SECRET_LAST_WORDS = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "secrets",
        "token",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "cookie",
        "cookies",
        "session",
        "apikey",
        "apikeys",
        "privatekey",
        "accesskey",
        "secretkey",
    }
)
# ...or its last two words are one of these.
_SECRET_LAST_PAIRS = frozenset(
    {
        ("api", "key"),
        ("api", "keys"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
    }
)
# Words of a key: an acronym before a capitalised word (APIKey → API, Key), capitalised or lower-case
# words, acronyms, digit runs. Separators (_ - . space) fall between matches.
_KEY_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def key_words(key: str) -> list[str]:
    """The lower-cased words of a key name, without trailing numbers: ``dbPassword2`` → ``["db", "password"]``."""
    words = [word.lower() for word in _KEY_WORDS.findall(key)]
    while words and words[-1].isdigit():
        words.pop()
    return words


def is_secret_key(key: object) -> bool:
    """Whether a mapping key (or an assignment's name) names a secret; see the module's rule."""
    if not isinstance(key, str):
        return False
    words = key_words(key)
    if not words:
        return False
    return words[-1] in _SECRET_LAST_WORDS or tuple(words[-2:]) in _SECRET_LAST_PAIRS


def redact_value(value: Any, key: object = None) -> Any:
    """A copy of a JSON-like value (mappings, lists, tuples, strings, scalars) with its secrets masked.

    `key` is the name the value is stored under, when it has one. Other objects are returned as they
    are (a `SecretStr` already hides itself); stringify them first to have their text redacted.
    """
    if is_secret_key(key) and not _reveals_nothing(value):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {name: redact_value(item, name) for name, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_redact_item(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value


def _redact_item(item: Any) -> Any:
    """An item of a sequence; a (name, value) pair, as in a list of HTTP headers, is a key and its value."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        return (item[0], redact_value(item[1], item[0]))
    return redact_value(item)


def _reveals_nothing(value: Any) -> bool:
    """Values that show whether a secret is set without showing it: None, booleans, empty text."""
    return value is None or isinstance(value, bool) or value == ""


# Free text ---------------------------------------------------------------------------------------------

# An Authorization header (or a field named so): the scheme stays, the credentials go. Without a
# scheme the whole value goes.
_AUTHORIZATION = re.compile(
    r"(?i:(?:proxy-)?authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?i:bearer|basic|token|digest|negotiate|apikey)[ \t]+)?"
    r"(?P<secret>[^\s\"',;]+)"
)
# An assignment: a key (quoted or not), =, := or :, then a quoted or unquoted value. The key is
# checked with is_secret_key, so token_count=3 is kept and password=x is not.
_ASSIGNMENT = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)[\"']?[ \t]*(?::=|=(?!=)|:(?![:=/]))[ \t]*"
    r"(?:\"(?P<dq>(?:[^\"\\\n]|\\.)*)\"|'(?P<sq>(?:[^'\\\n]|\\.)*)'|(?P<bare>[^\s\"',;&)\]}]+))"
)


_SETTING_PREFIX = "setting "


def redact_text(text: str) -> str:
    """Text with every secret found replaced by ``***``; the rest is unchanged."""
    if not text:
        return text
    spans = _merge(sorted(_secret_spans(text)))
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _secret_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _AUTHORIZATION.finditer(text):
        yield _unless_masked(text, match.span("secret"))
    yield from _assigned_secrets(text)
    yield from _indexer_spans(text)


def _assigned_secrets(text: str) -> Iterator[tuple[int, int]]:
    """Values of assignments to secret keys. After any other assignment the search goes on inside its
    value, which may hold one ("error: password=x")."""
    position = 0
    while (match := _ASSIGNMENT.search(text, position)) is not None:
        group = next(name for name in ("dq", "sq", "bare") if match.start(name) >= 0)
        if _assigns_secret(text, match.start("key"), match.group("key")):
            yield _unless_masked(text, match.span(group))
            position = match.end()
        else:
            position = match.start(group)


def _assigns_secret(text: str, key_start: int, key: str) -> bool:
    """Whether an assignment's key names a secret. Authorization values are left to _AUTHORIZATION (which
    keeps the scheme), and Local Mind's own messages about a setting ("setting graph.password: no
    password is set") name the setting, not a value."""
    if not is_secret_key(key) or key_words(key)[-1] == "authorization":
        return False
    return text[max(0, key_start - len(_SETTING_PREFIX)) : key_start].lower() != _SETTING_PREFIX


def _unless_masked(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """An empty span for values that are already masks (so redaction is idempotent) or empty."""
    start, end = span
    return (start, start) if not text[start:end].strip("*") else span


def _indexer_spans(text: str) -> Iterator[tuple[int, int]]:
    """What the indexer's redaction masks. It keeps lengths and leaves line breaks in place, so the
    changed characters are the secrets; a secret that spans lines (a private key) is one span."""
    masked, count = _find_and_mask(text)
    if not count:
        return
    start = last = -1
    for index, (before, after) in enumerate(zip(text, masked, strict=True)):
        if before != after:
            if start < 0:
                start = index
            last = index
        elif start >= 0 and before not in "\r\n":
            yield start, last + 1
            start = -1
    if start >= 0:
        yield start, last + 1


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join overlapping or touching spans (sorted by start); empty spans are dropped."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if start == end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
