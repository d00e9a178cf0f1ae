"""The briefing's parts on hand-made input: reading the model's layout leniently, and the extractive
briefing from a file's own prose, headings and symbols."""

from __future__ import annotations

from localmind.chat.sources import Source
from localmind.chat.summarize import FileText, Summarizer, extractive_summary, parse_briefing, unusable
from localmind.config import LlmSettings
from localmind.retrieval.results import Position, Range


def file_text(
    text: str, kind: str = "code", headings: list[str] | None = None, symbols: list[str] | None = None
) -> FileText:
    source = Source(1, "src/a.py", "file:///w/src/a.py", Range(Position(0, 0), Position(9, 0)), "x", text)
    return FileText(
        "/w", "src/a.py", "file:///w/src/a.py", kind, "python", None, [source], headings or [], symbols or []
    )


def test_the_layout_is_read_back() -> None:
    text = (
        "Summary: Loads configuration files.\nIt turns KEY=VALUE lines into a dictionary.\n"
        "Topics: configuration, parse_config, `ConfigError`\n"
        "Questions:\n1. What does parse_config return?\n2) How are errors reported\n- Where is it used?\n"
    )
    summary, topics, questions = parse_briefing(text)
    assert summary == "Loads configuration files. It turns KEY=VALUE lines into a dictionary."
    assert topics == ["configuration", "parse_config", "ConfigError"]
    assert questions == ["What does parse_config return?", "How are errors reported?", "Where is it used?"]


def test_a_model_that_ignores_the_layout_still_gives_a_summary() -> None:
    assert parse_briefing("This file loads settings.") == ("This file loads settings.", [], [])
    summary, topics, questions = parse_briefing("**Summary:** Short.\n**Topics:** a; b\n")
    assert (summary, topics, questions) == ("Short.", ["a", "b"], [])
    assert parse_briefing("") == ("", [], [])


def test_the_extractive_briefing_of_code_uses_its_docstring_and_symbols() -> None:
    code = '"""Loading Local Mind\'s configuration files.\n\nMore words here."""\nimport os\n'
    code += "\ndef parse_config(p):\n    pass\n"
    briefing = extractive_summary(file_text(code, symbols=["parse_config", "ConfigError"]))
    assert briefing.extractive and briefing.summary == "Loading Local Mind's configuration files."
    assert briefing.topics[:2] == ["parse_config", "ConfigError"]
    assert len(briefing.questions) == 3 and briefing.questions[0].startswith("What does `parse_config` do")


def test_the_extractive_briefing_of_a_note_uses_its_first_paragraph_and_headings() -> None:
    note = (
        "# Architecture\n\nLocal Mind reads files. It indexes them! Then it answers.\nAnd more.\n\n## Search\nText.\n"
    )
    briefing = extractive_summary(file_text(note, kind="notes", headings=["Architecture", "Search"]))
    assert briefing.summary.startswith("Local Mind reads files. It indexes them!")
    assert briefing.topics[:2] == ["Architecture", "Search"]
    assert briefing.questions[0] == "What does the section “Architecture” say?"


def test_a_notes_topics_are_the_names_it_marks_and_its_questions_read_like_a_readers() -> None:
    note = (
        "# Late fees\n\nInvoices unpaid after 30 days get a late fee computed by `apply_late_fee()`.\n"
        "See [[payments|the payments note]] for retries.\n"
    )
    source = Source(
        1, "notes/late-fees.md", "file:///w/notes/late-fees.md", Range(Position(0, 0), Position(4, 0)), "x", note
    )
    text = FileText(
        "/w",
        "notes/late-fees.md",
        "file:///w/n.md",
        "notes",
        "markdown",
        "Late fee policy",
        [source],
        ["Late fees"],
        [],
    )
    briefing = extractive_summary(text)
    assert briefing.topics == ["Late fees", "apply_late_fee", "payments"]
    assert briefing.questions == [
        "What does the section “Late fees” say?",
        "What does `apply_late_fee` do, and where is it used?",
        "How does payments relate to “Late fee policy”?",
    ]
    assert not any("deal with" in question for question in briefing.questions)


def test_words_fill_in_only_what_the_headings_do_not_cover() -> None:
    note = "# Late fees\n\nLate fees apply to invoices. Invoices unpaid accrue fees; invoices paid do not.\n"
    briefing = extractive_summary(file_text(note, kind="notes", headings=["Late fees"]))
    assert briefing.topics[0] == "Late fees" and "invoices" in briefing.topics
    assert "late" not in briefing.topics and "fees" not in briefing.topics
    assert "What does src/a.py say about invoices?" in briefing.questions


def test_a_file_without_prose_is_described() -> None:
    briefing = extractive_summary(file_text("import os\nx = 1\n", symbols=["x"]))
    assert briefing.summary == "src/a.py: a python source file defining x."


def test_no_llm_gives_the_extractive_briefing_with_its_reason() -> None:
    briefing = Summarizer(LlmSettings.model_validate({})).summarize(file_text("# T\n\nSome prose.\n", kind="notes"))
    assert briefing.extractive and briefing.fallback_reason == "no language model is configured (llm.base_url)"
    assert set(briefing.to_json()) == {"summary", "topics", "questions", "extractive", "sources", "fallbackReason"}


def test_a_looping_or_echoing_summary_is_not_shown() -> None:
    assert unusable("The file loads configuration. It reports errors.") is None
    assert unusable("") == "empty"
    assert unusable("The script is in plain language. " * 4) == "repetitive"
    assert unusable("import yaml_utils.yaml_utils " + "yaml_utils " * 30) == "repetitive"
    assert unusable('Sure. <source n="1">x</source>') == "it echoed the quoted file"
    assert parse_briefing("One. Two. Three. Four.")[0] == "One. Two. Three.", "three sentences at most"
