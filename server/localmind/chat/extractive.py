"""The extractive answer: no model writes anything; the best passages are quoted with their citations.
Used when no LLM is configured, and when the LLM is down, too slow or its breaker is open."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from localmind.chat.sources import Source

HEADER = "No language model is configured, so this is an extractive answer: the most relevant passages, quoted."
FALLBACK_HEADER = (
    "The language model is unavailable ({reason}), so this is an extractive answer: the most relevant passages, quoted."
)
NOTHING = "Nothing in the workspace matches this question."
# Each quoted passage is cut to this many lines, so the answer stays readable.
_QUOTE_LINES = 6


def fallback_header(reason: str) -> str:
    return FALLBACK_HEADER.format(reason=reason.rstrip("."))


def extractive_answer(sources: list[Source], header: str = HEADER) -> Iterator[str]:
    """The answer in pieces (header, then one quoted passage per source), for streaming."""
    if not sources:
        yield NOTHING
        return
    yield header + "\n"
    for source in sources:
        quoted = quote_code(source.text, source.language) if source.language else quote_prose(source.text)
        yield f"\n{quoted}\n[{source.n}] `{source.path}:{source.range.start.line + 1}`\n"


def quote_prose(text: str) -> str:
    """The passage's first lines as a Markdown block quote."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()][:_QUOTE_LINES]
    return "\n".join(f"> {line}" for line in lines)


def quote_code(text: str, language: str) -> str:
    """The passage's first lines as a fenced code block in its language, indentation kept exactly (only the
    indentation all lines share is removed), so quoted Python means what the file means."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()][:_QUOTE_LINES]
    body = textwrap.dedent("\n".join(lines))
    fence = "~~~~" if "```" in body else "```"
    return f"{fence}{language}\n{body}\n{fence}"
