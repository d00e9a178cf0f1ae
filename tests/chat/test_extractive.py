"""The extractive answer's parts on hand-made input: numbering, duplicates, budget, history bounds."""

from __future__ import annotations

from localmind.chat.conversations import Conversations, Turn
from localmind.chat.extractive import HEADER, NOTHING, extractive_answer, quote_sources
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


def test_a_passage_is_quoted_from_its_best_matching_lines_and_cited_there() -> None:
    prose = "\n".join(
        [
            "File objects have several methods.",  # Line 390 of the file (the hit starts there).
            "The read method returns the whole",
            "content, which may not fit in memory for a large",
            "object will.",
            "Other methods exist for binary data.",
            "Seeking moves the position.",
            "",
            "To read a file line by line, loop over the file object.",  # Line 397.
            "This is memory efficient and fast:",
            "for line in f: print(line, end='')",
        ]
    )
    [source] = number_sources([hit("p", "tutorial/inputoutput.rst.txt", 390)], {"p": prose}, 5000)
    answer = "".join(extractive_answer([source], question="how do I read a file line by line"))
    assert "> To read a file line by line, loop over the file object." in answer, "the quote starts a sentence"
    assert "> object will." not in answer and "[1] `tutorial/inputoutput.rst.txt:398`" in answer
    [quote] = quote_sources([source], "how do I read a file line by line")
    assert quote.source.range.start.line == 397 and quote.source.snippet.startswith("To read a file")


def test_passages_that_hold_none_of_the_questions_words_are_dropped() -> None:
    hits = [hit("a", "notes/retry.md", 0), hit("b", "notes/lunch.md", 0), hit("c", "notes/backoff.md", 4)]
    texts = {
        "a": "Failed payments are retried three times.",
        "b": "The cafeteria opens at noon.",
        "c": "Retries back off exponentially.",
    }
    sources = number_sources(hits, texts, 5000)
    quotes = quote_sources(sources, "how are failed payments retried?")
    assert [q.source.path for q in quotes] == ["notes/retry.md", "notes/backoff.md"]
    assert [q.source.n for q in quotes] == [1, 3], "numbers stay those of the sources"
    only = quote_sources(sources[1:2], "how are failed payments retried?")
    assert [q.source.path for q in only] == ["notes/lunch.md"], "with no match at all, the best-ranked one stays"


def test_a_leading_blank_line_does_not_shift_the_citation() -> None:
    [source] = number_sources([hit("a", "notes/a.md", 10)], {"a": "\n\nFirst.\nSecond about retries.\n"}, 500)
    assert source.text_line == 12
    [quote] = quote_sources([source], "first")
    assert quote.source.range.start.line == 12 and quote.markdown.startswith("> First.")
    [quote] = quote_sources([source], "retries")
    assert quote.source.range.start.line == 13 and quote.markdown == "> Second about retries."


def test_a_quoted_note_shows_headings_as_bold_lines_and_wiki_links_as_labels() -> None:
    [source] = number_sources(
        [hit("n", "notes/fees.md", 0)], {"n": "## Waivers\nSee [[payments|the payments note]]."}, 500
    )
    answer = "".join(extractive_answer([source], question="waivers payments"))
    assert "> **Waivers**\n> See the payments note.\n[1] `notes/fees.md:1`" in answer
