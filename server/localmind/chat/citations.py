"""Citations in an answer: `[n]` and `[n, m]` resolved to the numbered sources; numbers the model invented
(no such source) are dropped from the text, never linked.

The filter works on the stream, so what the editor shows while the answer is written is already what
the final answer says: text after a `[` that may still become a citation is held back (at most
MAX_PENDING characters) until the bracket closes or cannot be a citation any more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localmind.chat.sources import Source
from localmind.retrieval.results import Range

# A citation: numbers separated by commas (or semicolons), optional spaces, in square brackets, not
# right after a name or a closing bracket (`args[0]`, `m[1][2]` are code, not citations).
CITATION = re.compile(r"(?<![\w\])])\[\s*(\d{1,4}(?:\s*[,;]\s*\d{1,4})*)\s*\]")
# What a citation looks like while it is still being written.
_PARTIAL = re.compile(r"\[\s*(?:\d{1,4}(?:\s*[,;]\s*\d{0,4})*\s*)?$")
_SPACED_CITATION = re.compile(r"( *)(" + CITATION.pattern + ")")
MAX_PENDING = 40


@dataclass(frozen=True)
class Citation:
    """A source the answer cites: where it points, and the passage (snippet) it stands for."""

    n: int
    path: str
    uri: str
    range: Range
    snippet: str

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "path": self.path,
            "uri": self.uri,
            "range": {
                "start": {"line": self.range.start.line, "character": self.range.start.character},
                "end": {"line": self.range.end.line, "character": self.range.end.character},
            },
            "snippet": self.snippet,
        }


def cited_numbers(text: str) -> list[int]:
    """Every number cited in text, in order of first citation, without repeats."""
    numbers: list[int] = []
    for match in CITATION.finditer(text):
        for number in _numbers(match.group(1)):
            if number not in numbers:
                numbers.append(number)
    return numbers


def drop_invented(text: str, valid: set[int]) -> str:
    """The text with every cited number outside `valid` removed; a citation left empty goes with the
    space before it."""
    return _rewrite(text, valid)


def resolve(text: str, sources: list[Source]) -> list[Citation]:
    """The sources cited in text (only those), in order of first citation."""
    by_number = {source.n: source for source in sources}
    return [_citation(by_number[n]) for n in cited_numbers(text) if n in by_number]


class CitationFilter:
    """Drops invented citations from a stream of text pieces: feed() returns what can be shown now,
    flush() the rest at the end."""

    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self._pending = ""
        self._previous = ""  # The last character shown, which tells a citation from a subscript.

    def feed(self, piece: str) -> str:
        text = self._previous + self._pending + piece
        self._pending = ""
        out: list[str] = []
        position = len(self._previous)
        while True:
            bracket = text.find("[", position)
            if bracket < 0:
                out.append(text[position:])
                break
            out.append(text[position:bracket])
            match = CITATION.match(text, bracket)
            if match:
                rewritten = _rewrite_one(match, self.valid)
                if not rewritten:  # A dropped citation takes the spaces before it along.
                    out = ["".join(out).rstrip(" ")]
                out.append(rewritten)
                position = match.end()
                continue
            tail = text[bracket:]
            after_name = bracket > 0 and (text[bracket - 1].isalnum() or text[bracket - 1] in "_])")
            if not after_name and len(tail) <= MAX_PENDING and _PARTIAL.match(tail):
                self._pending = tail  # May still become a citation.
                break
            out.append("[")
            position = bracket + 1
        shown = "".join(out)
        # Trailing spaces wait for what follows: they go if a dropped citation comes next.
        kept = shown.rstrip(" ")
        self._pending = shown[len(kept) :] + self._pending
        if kept:
            self._previous = kept[-1]
        return kept

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return _rewrite(rest, self.valid)


def _rewrite(text: str, valid: set[int]) -> str:
    """Every citation of text with invented numbers dropped; one left empty goes with the spaces before it
    ("the loader [9]." → "the loader.")."""

    def replace(match: re.Match[str]) -> str:
        rewritten = _rewrite_one(match, valid, group=3)
        return match.group(1) + rewritten if rewritten else ""

    return _SPACED_CITATION.sub(replace, text)


def _rewrite_one(match: re.Match[str], valid: set[int], group: int = 1) -> str:
    kept = [n for n in _numbers(match.group(group)) if n in valid]
    return f"[{', '.join(map(str, kept))}]" if kept else ""


def _numbers(group: str) -> list[int]:
    return [int(part) for part in re.split(r"[,;]", group) if part.strip()]


def _citation(source: Source) -> Citation:
    return Citation(source.n, source.path, source.uri, source.range, source.snippet)
