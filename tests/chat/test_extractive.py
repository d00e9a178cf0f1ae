"""The extractive answer's parts on hand-made input: numbering, duplicates, budget, history bounds."""

from __future__ import annotations

from localmind.chat.conversations import Conversations, Turn
from localmind.chat.extractive import HEADER, NOTHING, extractive_answer
from localmind.chat.sources import number_sources
from localmind.retrieval.results import Position, Range, SearchHit


def hit(chunk: str, path: str, line: int) -> SearchHit:
    span = Range(Position(line, 0), Position(line + 2, 0))
    kind, language = ("code", "python") if path.endswith(".py") else ("notes", "markdown")
    return SearchHit(f"file:///w/{path}", path, "/w", span, f"snippet {chunk}", line, [], None, [], kind, language,
                     0.1, "dense", {"dense": 1}, chunk)  # fmt: skip


def test_sources_are_numbered_in_rank_order_without_duplicates_and_within_budget() -> None:
    hits = [hit("a", "a.py", 3), hit("b", "b.py", 0), hit("c", "c.py", 9), hit("d", "d.py", 1)]
    texts = {"a": "alpha text", "b": "Alpha  text\n", "c": "x" * 30, "d": "delta"}
    sources = number_sources(hits, texts, budget_chars=44)
    assert [(s.n, s.path) for s in sources] == [(1, "a.py"), (2, "c.py")], "b repeats a; d is over the budget"
    assert number_sources(hits[2:3], texts, budget_chars=5)[0].path == "c.py", "the first source is always kept"


def test_the_extractive_answer_quotes_each_source_with_its_citation() -> None:
    sources = number_sources(
        [hit("a", "src/a.py", 11), hit("b", "notes/b.md", 0)], {"a": "def a():\n    pass", "b": "B"}, 100
    )
    answer = "".join(extractive_answer(sources))
    assert answer.startswith(HEADER)
    assert "```python\ndef a():\n    pass\n```\n[1] `src/a.py:12`" in answer, "code keeps its indentation"
    assert "> B\n[2] `notes/b.md:1`" in answer, "prose is a block quote"
    assert "".join(extractive_answer([])) == NOTHING


def test_quoted_code_keeps_its_indentation_and_loses_only_the_shared_part() -> None:
    method = "    try:\n        return gateway.charge(invoice)\n    except TimeoutError:\n        retry(invoice)\n"
    sources = number_sources([hit("m", "billing/pay.py", 40)], {"m": method}, 1000)
    answer = "".join(extractive_answer(sources))
    block = "```python\ntry:\n    return gateway.charge(invoice)\nexcept TimeoutError:\n    retry(invoice)\n```"
    assert block in answer
    fenced = number_sources([hit("f", "doc.py", 1)], {"f": 'EXAMPLE = """\n```sh\nls\n```\n"""'}, 1000)
    assert "~~~~python\n" in "".join(extractive_answer(fenced)), "a passage holding ``` gets another fence"


def test_conversations_are_bounded_in_turns_and_in_number() -> None:
    conversations = Conversations(max_conversations=2, max_turns=3)
    first, turns = conversations.history(None)
    assert turns == [] and first
    for n in range(5):
        conversations.record(first, Turn(f"q{n}", f"a{n}"))
    assert [t.question for t in conversations.history(first)[1]] == ["q2", "q3", "q4"]
    conversations.record("second", Turn("q", "a"))
    conversations.record("third", Turn("q", "a"))
    assert conversations.history(first)[1] == [], "the least recently used conversation was dropped"
    assert conversations.history("third")[1] == [Turn("q", "a")]
