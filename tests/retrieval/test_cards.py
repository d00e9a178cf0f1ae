"""Knowledge cards on the fixture workspace: definitions at their lines, the notes that mention a symbol,
related names, no card for words the workspace does not hold, and compact Markdown that text cannot break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from localmind.retrieval import Searcher
from localmind.retrieval.cards import (
    CARD_LINES,
    CardLink,
    KnowledgeCard,
    build_card,
    markdown_to_plaintext,
    render_markdown,
)
from localmind.retrieval.results import Location, Position, Range


def line_holding(path: Path, text: str) -> int:
    """The 1-based number of the first line of a file that holds text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def text_at(root: Path, location: Location) -> str:
    line = (root / location.path).read_text(encoding="utf-8").splitlines()[location.range.start.line]
    return line[location.range.start.character : location.range.end.character]


def test_a_card_links_the_definition_at_its_line(searcher: Searcher, fixture_root: Path) -> None:
    card = build_card(searcher, "parse_config")
    assert card is not None
    [definition] = card.definitions
    line = line_holding(fixture_root / "src/config_loader.py", "def parse_config")
    assert definition.label == f"src/config_loader.py:{line}"
    assert definition.location.uri == (fixture_root / "src/config_loader.py").as_uri()
    assert text_at(fixture_root, definition.location) == "parse_config"
    assert definition.detail == "function"
    assert card.summary == "Read KEY=VALUE lines from a configuration file into a dictionary."


def test_a_card_lists_the_notes_that_mention_the_symbol(searcher: Searcher, fixture_root: Path) -> None:
    card = build_card(searcher, "parseArgs")
    assert card is not None
    [note] = card.mentioned_in
    line = line_holding(fixture_root / "notes/architecture.md", "flags with parseArgs")
    assert note.label == f"notes/architecture.md:{line}"
    assert text_at(fixture_root, note.location) == "parseArgs"
    assert note.detail == "The server starts in startServer and parses its flags with parseArgs."


def test_passages_repeat_neither_the_definition_nor_each_other(searcher: Searcher) -> None:
    card = build_card(searcher, "parse_config")
    assert card is not None and card.passages
    definition = card.definitions[0].location
    for passage in card.passages:
        span = passage.location.range
        assert not (
            passage.location.uri == definition.uri and span.start.line <= definition.range.start.line <= span.end.line
        )
    places = [(link.location.uri, link.location.range.start.line) for link in card.mentioned_in + card.passages]
    assert len(places) == len(set(places))


def test_the_hovered_file_is_left_out_but_its_definitions_stay(searcher: Searcher, fixture_root: Path) -> None:
    note = (fixture_root / "notes/architecture.md").as_uri()
    card = build_card(searcher, "parseArgs", from_uri=note)
    assert card is not None and [d.location.path for d in card.definitions] == ["src/args.ts"]
    assert all(link.location.uri != note for link in card.mentioned_in + card.passages)
    code = (fixture_root / "src/args.ts").as_uri()
    own = build_card(searcher, "parseArgs", from_uri=code)
    assert own is not None and own.definitions[0].location.uri == code


def test_related_names_come_from_the_graph(searcher: Searcher) -> None:
    card = build_card(searcher, "parseArgs")
    assert card is not None
    assert card.related[0] == "startServer"  # Its caller (a symbol whose chunk mentions it) comes first.
    assert "ServerArgs" in card.related  # Mentioned in its definition's chunk.
    assert "#configuration" in card.related  # A tag of the note that mentions it.
    assert "parseArgs" not in card.related


def test_a_tag_gets_a_card_naming_its_files(searcher: Searcher) -> None:
    card = build_card(searcher, "#indexing")
    assert card is not None and card.subject == "indexing"
    assert card.summary is not None and card.summary.startswith("tag on 1 file")
    assert [link.location.path for link in card.mentioned_in] == ["notes/architecture.md"]


def test_a_plain_word_shows_only_passages_that_contain_it(searcher: Searcher) -> None:
    card = build_card(searcher, "verbose")
    assert card is not None and not card.definitions
    assert card.passages and all("verbose" in (link.detail or "").lower() for link in card.passages)


def test_a_word_found_only_in_the_hovered_file_gets_no_card(searcher: Searcher, fixture_root: Path) -> None:
    assert build_card(searcher, "verbose", from_uri=(fixture_root / "src/args.ts").as_uri()) is None


@pytest.mark.parametrize(
    "word",
    [
        "zyxwvutsr",  # Found nowhere: dense search still returns passages, but none holds the word.
        "quantumflux",
        "the",  # Stop words, though passages hold them.
        "with",
        "self",
        "id",  # Two letters, though "One id per chunk" holds it.
        "8080",  # A number, though src/args.ts holds it.
        "0x1F",
        "",
        "  ",
        "___",
    ],
)
def test_no_card_for_what_the_workspace_does_not_hold_or_is_not_a_word(searcher: Searcher, word: str) -> None:
    assert build_card(searcher, word) is None


def test_a_real_card_fits_the_default_line_budget(searcher: Searcher) -> None:
    card = build_card(searcher, "parse_config")
    assert card is not None and not card.is_empty()
    markdown = render_markdown(card)
    assert len(markdown.split("\n")) <= CARD_LINES
    assert markdown.startswith("**parse\\_config** — function in [src/config\\_loader.py:12](file://")
    assert "config_loader.py#L12)" in markdown


# Rendering a hand-made card ------------------------------------------------------------------------------

HOSTILE = "x = `a` | <script>alert(1)</script> [click](https://evil.example) **b** _i_ &amp; # h\nsecond line"


def hostile_card(count: int = 10) -> KnowledgeCard:
    at = Location("file:///w/a%20b.py", "a b.py", "/w", Range(Position(4, 2), Position(4, 9)))
    links = [CardLink(f"dir/f_{n}.py:{n + 1}", at, HOSTILE) for n in range(count)]
    return KnowledgeCard(
        subject="we`ird|<b>",
        summary="Doc with `ticks`, <img src=x onerror=alert(1)> and a | pipe.",
        definitions=links[:3],
        mentioned_in=links,
        passages=links,
        related=["a_b", "#tag", "x`y"],
    )


@pytest.mark.parametrize("max_lines", [1, 2, 4, 7, 14, 30])
def test_render_keeps_within_max_lines(max_lines: int) -> None:
    markdown = render_markdown(hostile_card(), max_lines)
    assert len(markdown.split("\n")) <= max_lines
    assert markdown.startswith("**we") and not markdown.endswith("\n")
    assert ("\n- " in markdown) == (max_lines >= 4)  # Room for a section's blank line, title and one link.


def test_render_says_how_much_it_left_out() -> None:
    trimmed = render_markdown(hostile_card(), 14)
    hidden = sum(int(n) for n in re.findall(r"\+(\d+) more", trimmed))
    shown = trimmed.count("\n- ")
    assert hidden + shown == 2 + 10 + 10  # Every link but the headline's is shown or counted.
    assert "more" not in render_markdown(hostile_card(), 200)


def test_render_escapes_markdown_and_html_in_names_and_snippets() -> None:
    card = hostile_card(count=3)
    # Raw HTML, tables and links of any scheme allowed, so only the escaping can keep the text inert.
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    html = parser.render(render_markdown(card, 200))
    for tag in ("<script", "<img", "<b>", "<table", "<strong>b", "<em>i"):
        assert tag not in html
    assert html.count("<a href=") == 3 + 3 + 3  # Only the card's own links; the snippet's link stays text.
    assert set(re.findall(r'<a href="([^"]*)"', html)) == {"file:///w/a%20b.py#L5"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[click](https://evil.example)" in html
    assert "x = `a` | " in html
    assert "<code>a_b</code>" in html and "x`y" in html


def test_render_puts_the_definition_on_the_first_line() -> None:
    at = Location("file:///w/src/x.py", "src/x.py", "/w", Range(Position(11, 4), Position(11, 8)))
    card = KnowledgeCard("load", "Loads it.", [CardLink("src/x.py:12", at, "function")], [], [], [])
    assert render_markdown(card) == "**load** — function in [src/x.py:12](file:///w/src/x.py#L12) · Loads it."


def test_each_link_keeps_to_one_line_and_the_headline_to_two() -> None:
    """What keeps a card within the hover: long sentences are cut ("…") to the room their line has left."""
    at = Location("file:///w/notes/fees.md", "notes/fees.md", "/w", Range(Position(2, 0), Position(2, 5)))
    sentence = "A late fee is added " + "once the grace period of the `invoice_terms` setting ends, " * 4
    link = CardLink("notes/fees.md:3", at, sentence)
    summary = "The fee " + sentence
    card = KnowledgeCard("fee", summary, [CardLink("src/fees.py:12", at, "function")], [link], [link], [])
    plain = markdown_to_plaintext(render_markdown(card))
    headline, *rest = plain.split("\n")
    items = [line for line in rest if line.startswith("- ")]
    assert len(items) == 2 and all(len(item) <= 2 + 85 and item.endswith("…") for item in items), items
    assert len(headline) <= 2 * 85 and headline.endswith("…"), headline
    # Cut after a whole word of the sentence.
    shown = items[0].split(" — ", 1)[1].removesuffix("…").replace("`", "")
    plain_sentence = sentence.replace("`", "")
    assert plain_sentence.startswith(shown) and plain_sentence[len(shown)] in " ,", shown


def test_a_cut_excerpt_keeps_its_code_as_code() -> None:
    at = Location("file:///w/n.md", "n.md", "/w", Range(Position(0, 0), Position(0, 1)))
    excerpt = "Reads it with `" + "parse_configuration_" * 5 + "` and more"
    card = KnowledgeCard("parse", None, [], [CardLink("n.md:1", at, excerpt)], [], [])
    item = render_markdown(card).split("\n")[-1]
    assert item.endswith("`…") and item.count("`") == 2, item


def test_a_code_passage_is_shown_as_it_is() -> None:
    """Code is not Markdown: its stars, underscores and backticks are what the line says."""
    at = Location("file:///w/m.py", "m.py", "/w", Range(Position(0, 0), Position(0, 1)))
    line = "return {**base, **override} | f(`x`, _a_)"
    card = KnowledgeCard("merge", None, [], [], [CardLink("m.py:1", at, line, code=True)], [])
    parser = MarkdownIt("commonmark")
    html = parser.render(render_markdown(card))
    assert "return {**base, **override} | f(`x`, _a_)" in html and "<code>" not in html, html


def test_related_names_keep_to_one_line() -> None:
    at = Location("file:///w/x.py", "x.py", "/w", Range(Position(0, 0), Position(0, 1)))
    names = [f"related_name_{n}" for n in range(12)]
    card = KnowledgeCard("x", None, [], [CardLink("x.py:1", at, None)], [], names)
    related = render_markdown(card).split("\n")[-1]
    assert related.startswith("**Related** `related_name_0`") and "related_name_11" not in related
    assert len(markdown_to_plaintext(related)) <= 85, related


def test_plain_text_cards_keep_the_words_and_drop_the_markup() -> None:
    markdown = (
        "**apply\\_late\\_fee** — function in [src/fees.py:12](file:///w/src/fees.py#L12) · Adds a fee.\n"
        "- [notes/late-fees.md:3](file:///w/notes/late-fees.md#L3) — see \\[\\[late-fees\\]\\] and 2 \\* 3\n\n"
        "**Related** `charge` · `a_b`\n\n_Degraded: graph unavailable since 12:03 — answered from the other signals._"
    )
    assert markdown_to_plaintext(markdown) == (
        "apply_late_fee — function in src/fees.py:12 · Adds a fee.\n"
        "- notes/late-fees.md:3 — see [[late-fees]] and 2 * 3\n\n"
        "Related charge · a_b\n\nDegraded: graph unavailable since 12:03 — answered from the other signals."
    )


def test_plain_text_keeps_escaped_brackets_and_backticks_before_a_link_or_code() -> None:
    """An escaped [ or ` in one passage is text, never the start of a link or code span that ends in the next
    line's link (eglot showed "dictstr, str]" and a stray "[" for the fixture's merge_configs)."""

    def at(line: int) -> Location:
        return Location("file:///w/src/x.py", "src/x.py", "/w", Range(Position(line, 0), Position(line, 3)))

    passages = [
        CardLink("src/x.py:23", at(22), "def merge(base: dict[str, str]) -> dict[str, str]:"),
        CardLink("src/x.py:30", at(29), "one ` tick"),
        CardLink("src/x.py:1", at(0), "Loading files."),
    ]
    definition = CardLink("src/x.py:23", at(22), "function")
    card = KnowledgeCard("merge", "Merges two.", [definition], [], passages, ["charge"])
    assert markdown_to_plaintext(render_markdown(card, 20)).splitlines() == [
        "merge — function in src/x.py:23 · Merges two.",
        "",
        "Passages",
        "- src/x.py:23 — def merge(base: dict[str, str]) -> dict[str, str]:",
        "- src/x.py:30 — one ` tick",
        "- src/x.py:1 — Loading files.",
        "",
        "Related charge",
    ]


def test_excerpts_show_what_a_note_says_not_its_markdown() -> None:
    at = Location("file:///w/notes/fees.md", "notes/fees.md", "/w", Range(Position(8, 0), Position(8, 5)))
    excerpt = "By `apply_fee`, see [[fees|the policy]], [[pay]], [Runbook](rb.md); **only** _once_, a_b_c."
    card = KnowledgeCard("fee", None, [], [CardLink("notes/fees.md:9", at, excerpt)], [], [])
    parser = MarkdownIt("commonmark")
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    html = parser.render(render_markdown(card, 20))
    assert "<code>apply_fee</code>" in html
    assert "see the policy, pay, Runbook; only once, a_b_c." in html
    assert "[[" not in html and "**" not in html and "rb.md" not in html
    assert html.count("<a href=") == 1, "the card links only to the workspace's own place"
    plain = markdown_to_plaintext(render_markdown(card, 20))
    assert "By apply_fee, see the policy, pay, Runbook; only once, a_b_c." in plain
