"""The extractive answer: no model writes anything; the best passages are quoted with their citations.
Used when no LLM is configured, and when the LLM is down, too slow or its breaker is open.

Each passage is quoted from its best-matching lines: the window of a few lines that holds the most of the
question's words (prose windows begin where a sentence begins), and the citation names the first quoted
line, so clicking it opens what was quoted. A passage that holds none of the question's words is dropped
(a relevance floor) unless no passage holds any, when the best-ranked one is quoted alone.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, replace

from localmind.chat.sources import Source
from localmind.indexing.parsers.markdown import wiki_links_as_labels
from localmind.retrieval.results import Position, Range

HEADER = "No language model is configured, so this is an extractive answer: the most relevant passages, quoted."
FALLBACK_HEADER = (
    "The language model is unavailable ({reason}), so this is an extractive answer: the most relevant passages, quoted."
)
NOTHING = "Nothing in the workspace matches this question."
# Each quoted passage is cut to this many lines, so the answer stays readable.
_QUOTE_LINES = 6
_WORD = re.compile(r"[A-Za-z0-9]+")
_STEM = 5  # Words are compared by their first five letters: "retried" meets "retry", "payments" "payment".
_SENTENCE_END = re.compile(r"[.!?:]\s*$")
_HEADING = re.compile(r"\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BLOCK_START = re.compile(r"\s*(?:[#>*+-]|\d+[.)])\s")
_QUESTION_TEXT = (
    "the and for are was were how what which who why when where does did do can could should would with from "
    "that this these those into about there their they them its has have had not but all any you your our "
    "get use used using"
)
_QUESTION_WORDS = frozenset(_QUESTION_TEXT.split())


@dataclass(frozen=True)
class Quote:
    source: Source  # Narrowed to the quoted lines: its range, snippet and citation line are theirs.
    markdown: str


def fallback_header(reason: str) -> str:
    return FALLBACK_HEADER.format(reason=reason.rstrip("."))


def extractive_answer(sources: list[Source], header: str = HEADER, question: str = "") -> Iterator[str]:
    """The answer in pieces (header, then one quoted passage per source), for streaming."""
    yield from render(quote_sources(sources, question), header)


def render(quotes: list[Quote], header: str = HEADER) -> Iterator[str]:
    if not quotes:
        yield NOTHING
        return
    yield header + "\n"
    for quote in quotes:
        source = quote.source
        yield f"\n{quote.markdown}\n[{source.n}] `{source.path}:{source.range.start.line + 1}`\n"


def quote_sources(sources: list[Source], question: str = "") -> list[Quote]:
    """Each source quoted from its best-matching lines; those matching none of the question's words are
    dropped, unless none matches any (then the first source alone). Numbers are kept."""
    terms = _stems(question)
    scored = [(_best_window(source, terms), source) for source in sources]
    relevant = [(window, source) for window, source in scored if window[2] > 0]
    kept = scored if not terms else relevant or scored[:1]
    return [_quote(source, start, end) for (start, end, _), source in kept]


def quote_prose(text: str) -> str:
    """Lines of prose as a Markdown block quote; a heading in them becomes a bold line (not a heading at full
    size inside the quote) and a wiki link its label, which Markdown would show raw."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()][:_QUOTE_LINES]
    return "\n".join(f"> {_quotable(line)}" for line in lines)


def _quotable(line: str) -> str:
    line = wiki_links_as_labels(line)
    heading = _HEADING.match(line)
    return f"**{heading.group(1)}**" if heading else line


def quote_code(text: str, language: str) -> str:
    """Lines of code as a fenced code block in its language, indentation kept exactly (only the indentation
    all lines share is removed), so quoted Python means what the file means."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()][:_QUOTE_LINES]
    body = textwrap.dedent("\n".join(lines))
    fence = "~~~~" if "```" in body else "```"
    return f"{fence}{language}\n{body}\n{fence}"


def _stems(text: str) -> set[str]:
    words = (word.lower() for word in _WORD.findall(text.replace("_", " ")))
    return {word[:_STEM] for word in words if len(word) >= 3 and word not in _QUESTION_WORDS}


def _best_window(source: Source, terms: set[str]) -> tuple[int, int, int]:
    """(first line, end line, how many of the terms it holds) of the best window; the earliest wins ties."""
    lines = source.text.split("\n")
    starts = range(len(lines)) if source.language else _sentence_starts(lines)
    best, best_key = (0, min(len(lines), _QUOTE_LINES), 0), (-1, -1)
    for start in starts:
        if not lines[start].strip():
            continue
        end = min(len(lines), start + _QUOTE_LINES)
        found = len(terms & _stems("\n".join(lines[start:end])))
        key = (found, len(terms & _stems(lines[start])))  # Then the window whose first line matches most.
        if key > best_key:
            best, best_key = (start, end, found), key
    return best


def _sentence_starts(lines: list[str]) -> list[int]:
    """Lines where a sentence, paragraph, heading or list item begins."""
    starts = [0]
    for index in range(1, len(lines)):
        before = lines[index - 1].strip()
        if not before or _SENTENCE_END.search(before) or _BLOCK_START.match(lines[index]):
            starts.append(index)
    return starts


def _quote(source: Source, start: int, end: int) -> Quote:
    lines = source.text.split("\n")[start:end]
    while lines and not lines[-1].strip():
        lines.pop()
    text = "\n".join(lines)
    first = source.text_line + start
    begins = source.range.start if first == source.range.start.line else Position(first, 0)
    last = Position(first + max(0, len(lines) - 1), len(lines[-1]) if lines else 0)
    whole = end >= len(source.text.split("\n")) and source.range.end.line >= last.line
    ends = source.range.end if whole else last
    snippet = next((line.strip() for line in lines if line.strip()), source.snippet)[:200]
    narrowed = replace(source, range=Range(begins, ends), snippet=snippet, text_line=first)
    markdown = quote_code(text, source.language) if source.language else quote_prose(text)
    return Quote(narrowed, markdown)
