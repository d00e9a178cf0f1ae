"""Citations: found in any form, invented numbers dropped (in the stream too), resolved to locations."""

from __future__ import annotations

import random

import pytest

from localmind.chat.citations import CitationFilter, cited_numbers, drop_invented, resolve
from localmind.chat.sources import Source
from localmind.retrieval.results import Position, Range


def source(n: int) -> Source:
    span = Range(Position(n, 0), Position(n + 4, 2))
    return Source(n, f"f{n}.py", f"file:///w/f{n}.py", span, f"snippet {n}", f"text {n}")


ANSWER = "Files are read by the loader [1]. It merges them [2, 9], see also [7]. Code: args[0] and [x] and [3;1]."


def test_citations_in_every_form_are_found_in_order() -> None:
    assert cited_numbers(ANSWER) == [1, 2, 9, 7, 3]
    assert cited_numbers("a [ 4 ,5 ] b [4]") == [4, 5]
    assert cited_numbers("m[1][2] args[0]") == [], "subscripts are not citations"


def test_invented_numbers_are_dropped_not_linked() -> None:
    text = drop_invented(ANSWER, {1, 2, 3})
    assert text == "Files are read by the loader [1]. It merges them [2], see also. Code: args[0] and [x] and [3, 1]."
    cited = resolve(text, [source(1), source(2), source(3)])
    assert [(c.n, c.path) for c in cited] == [(1, "f1.py"), (2, "f2.py"), (3, "f3.py")]
    assert cited[0].to_json() == {
        "n": 1,
        "path": "f1.py",
        "uri": "file:///w/f1.py",
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 5, "character": 2}},
        "snippet": "snippet 1",
    }
    assert resolve("no citations at all", [source(1)]) == []
    assert resolve("only invented [5]", [source(1)]) == []


@pytest.mark.parametrize("seed", range(20))
def test_the_stream_filter_gives_what_the_whole_text_gives_wherever_it_is_split(seed: int) -> None:
    rng = random.Random(seed)
    text = ANSWER + " Ends with a citation [2] [8]"
    pieces, position = [], 0
    while position < len(text):
        size = rng.randint(1, 8)
        pieces.append(text[position : position + size])
        position += size
    citations = CitationFilter({1, 2, 3})
    shown = "".join(citations.feed(piece) for piece in pieces) + citations.flush()
    assert shown == drop_invented(text, {1, 2, 3})


def test_the_stream_filter_holds_back_little() -> None:
    citations = CitationFilter({1})
    assert citations.feed("plain words ") == "plain words"
    assert citations.feed("[") == ""
    assert citations.feed("1") == ""
    assert citations.feed("] more") == " [1] more"
    assert citations.feed(" [not a citation") == " [not a citation"
    assert citations.feed(" [" + "1, " * 30).startswith(" ["), "a bracket that runs too long is text"
    assert citations.flush() == " ", "trailing spaces wait for what follows, and come out at the end"
