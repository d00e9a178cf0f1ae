"""Mask secrets (keys, tokens, passwords) in text: before it is indexed, sent to an LLM, or logged.

Invariant: masking never changes the length of the text nor the position of any character outside a
secret. Every character of a secret becomes ``*`` except line breaks (``\\n`` and ``\\r``), which
stay where they are. So line numbers, columns and offsets computed on the redacted text are exact for
the original file too, and the indexer's ranges point at the right place in the editor.

What is found: private-key blocks (the body; the BEGIN and END lines stay), AWS access key ids and
secret keys, GitHub, GitLab, Slack, Stripe, OpenAI-style and Google API keys, JSON Web Tokens,
Authorization header credentials, the password of ``scheme://user:password@host`` (only the
password), and the value of assignments whose key names a secret (``password``, ``db_password``,
``API_KEY``, ``SECRET_KEY``, ``client_secret``, ``authToken``…) in JSON, YAML, TOML, INI, .env and
most programming languages, when the value looks like a secret rather than code. Already-masked text
is not found again, so ``redact`` is idempotent.

Assigned values are left alone when shorter than 8 characters, placeholders (``${VAR}``, ``$VAR``,
``{{ x }}``, ``<your-token>``, ``%(x)s``), URLs (their passwords are masked by the URL rule), versions
or IP addresses, or words without digits that name a secret (``my_api_token``). Unquoted values are
also left alone when they look like code: calls, subscripts, dotted names (``os.environ``,
``process.env.X``), keywords (``None``, ``true``), and words or identifiers of letters only
(``nextchar``, ``USE_DEFAULT``); an unquoted password of letters alone is therefore not masked.
Unquoted values end at white space, a quote, ``,``, ``;``, ``&`` or a closing bracket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MASK = "*"
MIN_ASSIGNED_SECRET = 8  # Shorter values of secret-named keys are left alone (counts, flags, ports).

_NOT_LINE_BREAK = re.compile(r"[^\r\n]")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16}")
_ONLY_MASK = re.compile(r"[*\r\n]*")


@dataclass(frozen=True)
class _Rule:
    """A pattern whose group "secret" is masked, when the optional check accepts that text.

    A folded rule is written in lower case and matched against the lower-cased text, which is much
    faster than a case-insensitive pattern; its spans are the same in the original text.
    """

    pattern: re.Pattern[str]
    accept: Callable[[str], bool] | None = None
    folded: bool = False


# A value that names another value instead of holding one: ${VAR}, $VAR, {{ template }}, {name},
# <your-token-here>, %(name)s, %VAR%.
_PLACEHOLDER = re.compile(
    r"\$\{[^}]*\}|\$[A-Za-z_]\w*|\{\{.*\}\}|\{[^{}]*\}|<[^<>]*>|%\([^)]*\)s|%[A-Za-z_]\w*%",
    re.DOTALL,
)


def _not_placeholder(value: str) -> bool:
    return _PLACEHOLDER.fullmatch(value.strip()) is None


# Vendor tokens, in one pattern so the text is read once. Each stands alone: no token character
# (letter, digit, _ or -) directly before or after it. The lookahead on the first character lets the
# regex engine skip most positions quickly.
_VENDOR_TOKENS = (
    r"(?:AKIA|ASIA)[A-Z0-9]{16}",  # AWS access key id.
    r"gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255}",  # GitHub.
    r"glpat-[A-Za-z0-9_-]{20,255}",  # GitLab.
    r"xox[baprs]-[A-Za-z0-9-]{10,255}",  # Slack.
    r"[sr]k_(?:live|test)_[A-Za-z0-9]{10,255}",  # Stripe.
    # OpenAI, Anthropic and similar: sk- and at least 20 more token characters, one of them a digit
    # (kebab-case words such as sk-some-long-name have none).
    r"sk-(?=[A-Za-z0-9_-]{0,255}?[0-9])[A-Za-z0-9_-]{20,255}",
    r"AIza[0-9A-Za-z_-]{35}",  # Google API key.
    r"eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{4,65536}\.[A-Za-z0-9_-]{8,8192}",  # JSON Web Token.
)

_RULES = (
    # The body of a PEM or PGP private key, up to its END line; a body never holds "-----", so a
    # BEGIN line without an END is given up at the next dashes.
    _Rule(
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?P<secret>(?:[^-]|-(?!----)){1,65536})"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        ),
        # A body without base64 is code that names the markers, not a key.
        lambda body: _BASE64_RUN.search(body) is not None,
    ),
    _Rule(re.compile(r"(?=[AgxsreA])(?<![A-Za-z0-9_-])(?P<secret>" + "|".join(_VENDOR_TOKENS) + r")(?![A-Za-z0-9_-])")),
    _Rule(re.compile(r"hooks\.slack\.com/services/(?P<secret>[A-Za-z0-9/]{20,200})")),
    _Rule(
        re.compile(
            r"aws_?secret_?access_?key[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?P<secret>[a-z0-9/+]{40})(?![a-z0-9/+])"
        ),
        folded=True,
    ),
    _Rule(
        re.compile(
            r"authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:bearer|basic|token)[ \t]+"
            r"(?P<secret>[a-z0-9._~+/=-]{8,8192})"
        ),
        _not_placeholder,
        folded=True,
    ),
    # The password of a URL's user information: scheme://user:password@host.
    _Rule(
        re.compile(r"://(?<=[A-Za-z0-9]://)[^\s:/@'\"<>\[\]]{0,256}:(?P<secret>[^\s@/'\"<>\[\]]{1,256})@"),
        _not_placeholder,
    ),
)

# Key names that end with one of these words name a secret. The words are matched in the lower-cased
# text; _word_starts_part() then requires most of them to start a part of the name (db_password,
# authToken), so that bypass, oauth or compass do not count.
_SECRET_WORDS = (
    r"password|passwd|passphrase|pwd|pass|secret|token|auth"
    r"|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key"
)
_WORDS_ANYWHERE = frozenset({"password", "passwd", "passphrase", "secret"})

_ASSIGNMENT = re.compile(
    rf"(?P<word>{_SECRET_WORDS})"
    # The key's closing quote or subscript (config["password"] = ...), then =, :=, => or :, or a type
    # annotation and = (password: str = "x").
    r"[\"']?\]?[ \t]*"
    r"(?:(?::[ \t]*[A-Za-z_][\w.\[\]|, ]{0,60}?[ \t]*)?(?:=>|:=|=(?!=))|:(?![:=]))"
    r"[ \t]*"
    r"(?P<value>"
    r"[rRbBuU]?\"(?P<dq>(?:[^\"\\\n]|\\.){0,1024})\""
    r"|[rRbBuU]?'(?P<sq>(?:[^'\\\n]|\\.){0,1024})'"
    r"|`(?P<bq>[^`\n]{0,1024})`"
    # Unquoted values end at white space, a quote, a separator (as in minified code or a URL's query)
    # or a closing bracket.
    r"|(?P<bare>[^\s\"'`,;&)\]}]{1,1024})"
    r")"
)
_TRAILING_PUNCTUATION = ".:"
# Unquoted values starting so are templates ({name}, ${VAR}, <id>, %VAR%), YAML tags, anchors and
# aliases (!tag, &anchor, *alias) or references (@name); none can start a YAML plain scalar.
_REFERENCE_STARTS = frozenset("{$<%@&*!")
_KEYWORDS = frozenset({"none", "null", "nil", "nullptr", "true", "false", "undefined", "yes", "no", "on", "off"})
_DOTTED_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")
_WORDS_ONLY = re.compile(r"[A-Za-z_-]+")
_DOTTED_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_SECRET_WORD_INSIDE = re.compile(r"(?i:pass|pwd|secret|token|key|auth|credential)")
# Sphinx and similar fields: ":param auth_token:", ":ivar str token:".
_DOC_FIELD_BEFORE_KEY = re.compile(r"(?:^|\s):[a-z]+(?:[ \t]+[\w.\[\]|, ]+?)?[ \t]+$", re.MULTILINE)


def redact(text: str) -> tuple[str, int]:
    """Mask every secret found in text; return the text (same length, same line breaks) and their count.

    Overlapping findings (a token assigned to API_KEY) count once; text that is already masked is
    neither changed nor counted.
    """
    spans = _merge(sorted(_find_secrets(text)))
    pieces: list[str] = []
    position = 0
    count = 0
    for start, end in spans:
        secret = text[start:end]
        if _ONLY_MASK.fullmatch(secret):
            continue
        pieces.append(text[position:start])
        pieces.append(_NOT_LINE_BREAK.sub(MASK, secret))
        position = end
        count += 1
    if not count:
        return text, 0
    pieces.append(text[position:])
    return "".join(pieces), count


def _find_secrets(text: str) -> Iterator[tuple[int, int]]:
    folded = _fold_case(text)
    for rule in _RULES:
        for match in rule.pattern.finditer(folded if rule.folded else text):
            start, end = match.span("secret")
            if rule.accept is None or rule.accept(text[start:end]):
                yield start, end
    yield from _assigned_secrets(text, folded)


def _fold_case(text: str) -> str:
    """The text in lower case, character for character (so every offset stays the same).

    U+0130 (İ) is the only character whose lower case is two characters; it becomes "i". Should a
    later Unicode version add others, they are kept as they are, one by one.
    """
    folded = text.replace("\u0130", "i").lower()
    if len(folded) == len(text):
        return folded
    return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join overlapping or touching spans, which are sorted by start."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _assigned_secrets(text: str, folded: str) -> Iterator[tuple[int, int]]:
    """Values assigned to secret-named keys that look like secrets rather than code.

    After a rejected match the search resumes at its value, which may itself hold an assignment
    (``PWD=$(pwd)&&PASSWORD=hunter22``).
    """
    position = 0
    while (match := _ASSIGNMENT.search(folded, position)) is not None:
        span = _secret_value_span(text, match)
        if span is not None:
            yield span
            position = match.end()
        else:
            position = match.start("value")


def _secret_value_span(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The span of a match's value, if it holds a secret; the match is in the folded text."""
    word_start, word_end = match.span("word")
    if not _word_starts_part(text, word_start, text[word_start:word_end]) or _in_doc_field(text, word_start):
        return None
    for literal in ("dq", "sq"):
        start, end = match.span(literal)
        if start >= 0:
            return (start, end) if _looks_secret(text[start:end], literal=True) else None
    group = "bq" if match.start("bq") >= 0 else "bare"
    start, end = match.span(group)
    value = text[start:end]
    if group == "bare":
        value = value.rstrip(_TRAILING_PUNCTUATION)
    return (start, start + len(value)) if _looks_secret(value, literal=False) else None


def _word_starts_part(text: str, start: int, word: str) -> bool:
    """Whether the secret word begins the key or a part of it (after _ - . or at a camelCase hump)."""
    if start == 0 or word.lower() in _WORDS_ANYWHERE:
        return True
    before = text[start - 1]
    if not before.isalnum():
        return True
    if not word[0].isupper():
        return False
    # authToken, api2Key, or an acronym before a capitalised word: APIToken.
    return before.islower() or before.isdigit() or (len(word) > 1 and word[1].islower())


def _in_doc_field(text: str, word_start: int) -> bool:
    """Whether the key is the name in a documentation field such as ":param auth_token: ..."."""
    # Only 120 characters before the key count, so that long lines stay fast.
    key_start = word_start
    while key_start > max(0, word_start - 120) and (text[key_start - 1].isalnum() or text[key_start - 1] in "_.-"):
        key_start -= 1
    window_start = max(0, key_start - 120)
    line_start = max(window_start, text.rfind("\n", window_start, key_start) + 1)
    return _DOC_FIELD_BEFORE_KEY.search(text, line_start, key_start) is not None


def _looks_secret(value: str, *, literal: bool) -> bool:
    """Whether an assigned value holds a secret, not a reference to one, a placeholder or code.

    Values in single or double quotes are string literals, masked unless they are placeholders or
    names; other values (unquoted, or in backquotes as in Markdown) are also left alone when they
    look like code or plain words.
    """
    if len(value) < MIN_ASSIGNED_SECRET or _ONLY_MASK.fullmatch(value):
        return False
    if not _not_placeholder(value) or _names_a_secret(value):
        return False
    if "://" in value:
        return False  # A URL; a password inside it is masked by the URL rule.
    if _DOTTED_NUMBER.fullmatch(value):
        return False  # A version, an IP address or an object identifier (1.3.6.1.5.5.7.3.1).
    return literal or not _looks_like_code(value)


def _names_a_secret(value: str) -> bool:
    """Words without digits that name a secret are names or placeholders: my_token, fal-api-key."""
    return _WORDS_ONLY.fullmatch(value) is not None and _SECRET_WORD_INSIDE.search(value) is not None


def _looks_like_code(value: str) -> bool:
    """An unquoted value that is an expression: a call, a subscript, a keyword or an identifier."""
    if value[0] in _REFERENCE_STARTS or any(bracket in value for bracket in "()[]"):
        return True
    if value.lower() in _KEYWORDS:
        return True
    if _DOTTED_NAME.fullmatch(value):
        return True  # os.environ, process.env.TOKEN, settings.SECRET_KEY, self.password
    # nextchar, USE_DEFAULT, newPassword, re-exchanging: names in code, words in prose ("First pass:
    # determine ..."). An unquoted password of letters alone is therefore left alone too.
    return _WORDS_ONLY.fullmatch(value) is not None
