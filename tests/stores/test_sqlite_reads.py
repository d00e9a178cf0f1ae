"""The named reads of the embedded store (SqliteReads): each one's answers on a tiny hand-made index, and a
guard that retrieval and chat hold no SQL of their own.

The index is written as FileUpdates, so every id, range and text is known and the expected answers are
exact: two roots, code with a class, a method and a function, a note and a doc with sections, tags and
mentions, a PDF that mentions a name, and files that share a stem.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from localmind.stores.ports import IndexReads
from localmind.stores.records import (
    ChunkRecord,
    FileFacts,
    FilePosition,
    FileRecord,
    FileUpdate,
    IndexedFile,
    LinkRecord,
    LocatedText,
    SectionRecord,
    Span,
    SymbolDeclaration,
    SymbolRecord,
)
from localmind.stores.sqlite_reads import SqliteReads
from localmind.stores.sqlite_store import SqliteStore

SERVER = Path(__file__).parents[2] / "server" / "localmind"
WS, WS2 = "/ws", "/ws2"
APP_0 = "class Config:\n    def load(self):\n        return parse_config()\n"
APP_1 = "def parse_config():\n    return Config()\n"
DESIGN_0 = "# Design\n\nThe Config class holds settings, like a zebra.\n"
DESIGN_1 = "## Loading\n\nparse_config reads Config files.\n"
GUIDE_0 = "# Guide\n\nUse Config. Zebra zebra zebra.\n"


# The index ---------------------------------------------------------------------------------------------------


def _file(file_id: str, root: str, rel_path: str, kind: str, language: str, title: str | None = None) -> FileRecord:
    return FileRecord(file_id, root, rel_path, kind, language, title, 100, 1, f"hash-{file_id}")


def _chunk(
    chunk_id: str,
    file_id: str,
    ordinal: int,
    text: str,
    span: Span,
    headings: tuple[str, ...] = (),
    symbol: str | None = None,
    section: str | None = None,
) -> ChunkRecord:
    return ChunkRecord(chunk_id, file_id, ordinal, text, f"th-{chunk_id}", span, headings, symbol, None, 10, section)


def _symbol(
    symbol_id: str, file_id: str, chunk_id: str, name: str, qualified: str, kind: str, span: Span, at: tuple[int, int]
) -> SymbolRecord:
    doc = "Settings for the app. Loaded once." if name == "Config" and file_id == "f-app" else None
    return SymbolRecord(symbol_id, file_id, chunk_id, name, qualified, kind, span, at[0], at[1], doc)


def _update(file: FileRecord, chunks: list[ChunkRecord], **parts: object) -> FileUpdate:
    vectors = np.zeros((len(chunks), 4), np.float32)
    return FileUpdate(file, chunks, vectors, "test-model", **parts)  # type: ignore[arg-type]


def _app() -> FileUpdate:
    return _update(
        _file("f-app", WS, "src/app.py", "code", "python"),
        [
            _chunk("c-app-0", "f-app", 0, APP_0, (0, 0, 2, 29), symbol="Config"),
            _chunk("c-app-1", "f-app", 1, APP_1, (4, 0, 5, 19), symbol="parse_config"),
        ],
        symbols=[
            _symbol("s-config", "f-app", "c-app-0", "Config", "Config", "class", (0, 0, 2, 29), (0, 6)),
            _symbol("s-load", "f-app", "c-app-0", "load", "Config.load", "method", (1, 4, 2, 29), (1, 8)),
            _symbol("s-parse", "f-app", "c-app-1", "parse_config", "parse_config", "function", (4, 0, 5, 19), (4, 4)),
        ],
        mentions=[("c-app-0", "parse_config"), ("c-app-1", "Config")],
    )


def _design() -> FileUpdate:
    return _update(
        _file("f-design", WS, "notes/design.md", "notes", "markdown", "Design"),
        [
            _chunk("c-design-0", "f-design", 0, DESIGN_0, (0, 0, 2, 47), ("Design",), section="sec-design"),
            _chunk("c-design-1", "f-design", 1, DESIGN_1, (3, 0, 5, 32), ("Design", "Loading"), section="sec-loading"),
        ],
        sections=[
            SectionRecord("sec-design", "f-design", "Design", 1, (0, 0, 5, 32), None),
            SectionRecord("sec-loading", "f-design", "Loading", 2, (3, 0, 5, 32), "sec-design"),
        ],
        tags=[(None, "config"), ("c-design-1", "design")],
        links=[LinkRecord("f-design", "c-design-0", "wiki", "guide")],
        mentions=[
            ("c-design-0", "Config"),
            ("c-design-1", "Config"),
            ("c-design-1", "parse_config"),
            ("c-design-1", "Zebra"),
        ],
    )


def _guide() -> FileUpdate:
    return _update(
        _file("f-guide", WS, "docs/guide.md", "docs", "markdown", "Guide"),
        [_chunk("c-guide-0", "f-guide", 0, GUIDE_0, (0, 0, 2, 31), ("Guide",), section="sec-guide")],
        sections=[SectionRecord("sec-guide", "f-guide", "Guide", 1, (0, 0, 2, 31), None)],
        tags=[(None, "config")],
        mentions=[("c-guide-0", "Config")],
    )


def _others() -> list[FileUpdate]:
    """A PDF that mentions Config, a second Config in another root, and two more files of stem "guide"."""
    return [
        _update(
            _file("f-pdf", WS, "docs/manual.pdf", "docs", "pdf"),
            [_chunk("c-pdf-0", "f-pdf", 0, "See Config.", (0, 0, 0, 11))],
            mentions=[("c-pdf-0", "Config")],
        ),
        _update(
            _file("f-lib", WS2, "lib.py", "code", "python"),
            [_chunk("c-lib-0", "f-lib", 0, "class Config: ...\n", (0, 0, 0, 17), symbol="Config")],
            symbols=[_symbol("s-lib", "f-lib", "c-lib-0", "Config", "Config", "class", (0, 0, 0, 17), (0, 6))],
        ),
        _update(
            _file("f-guide-2", WS2, "guide.md", "notes", "markdown"),
            [_chunk("c-g2", "f-guide-2", 0, "Hi.", (0, 0, 0, 3))],
        ),
        _update(_file("f-guide-py", WS, "src/guide.py", "code", "python"), []),
    ]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "index.sqlite3")
    for update in [_app(), _design(), _guide(), *_others()]:
        opened.write_file(update)
    yield opened
    opened.close()


@pytest.fixture()
def reads(store: SqliteStore) -> IndexReads:
    return store.reads


# The port ----------------------------------------------------------------------------------------------------


def _port_methods() -> list[str]:
    return [name for name, _ in inspect.getmembers(IndexReads, inspect.isfunction) if not name.startswith("_")]


def test_the_sqlite_reads_implement_every_method_of_the_port_each_with_a_docstring() -> None:
    assert len(_port_methods()) >= 25
    for name in _port_methods():
        implementation = getattr(SqliteReads, name, None)
        assert callable(implementation), f"SqliteReads lacks {name}"
        assert inspect.signature(implementation) == inspect.signature(getattr(IndexReads, name)), name
        assert (getattr(IndexReads, name).__doc__ or "").strip(), f"IndexReads.{name} has no docstring"
        assert (implementation.__doc__ or "").strip(), f"SqliteReads.{name} has no docstring"


def test_a_store_gives_one_reads_over_its_own_connection(store: SqliteStore) -> None:
    assert store.reads is store.reads
    assert isinstance(store.reads, SqliteReads)


# Files -------------------------------------------------------------------------------------------------------


def test_file_facts_lists_every_file(reads: IndexReads) -> None:
    facts = {fact.id: fact for fact in reads.file_facts()}
    assert len(facts) == 7
    assert facts["f-app"] == FileFacts("f-app", WS, "src/app.py", "code", "python")
    assert facts["f-lib"] == FileFacts("f-lib", WS2, "lib.py", "code", "python")


def test_file_at_finds_a_path_in_any_spelling_of_the_root(reads: IndexReads) -> None:
    assert reads.file_at(["/elsewhere", WS], "notes/design.md") == IndexedFile("f-design", WS, "notes/design.md")
    assert reads.file_at([WS2], "notes/design.md") is None
    assert reads.file_at([WS], "notes/missing.md") is None


def test_file_with_stem_prefers_notes_then_the_given_roots_then_short_paths(reads: IndexReads) -> None:
    assert reads.file_with_stem("guide", [WS]) == IndexedFile("f-guide", WS, "docs/guide.md")
    assert reads.file_with_stem("guide", [WS2]) == IndexedFile("f-guide-2", WS2, "guide.md")
    assert reads.file_with_stem("guide", []) == IndexedFile("f-guide-2", WS2, "guide.md"), "the shortest path"
    assert reads.file_with_stem("nothing", [WS]) is None


def test_files_mentioning_or_defining_leave_out_pdfs_and_sort_by_root_and_path(reads: IndexReads) -> None:
    assert reads.files_mentioning_or_defining(["parse_config"]) == [(WS, "notes/design.md"), (WS, "src/app.py")]
    assert reads.files_mentioning_or_defining(["Config"]) == [
        (WS, "docs/guide.md"),
        (WS, "notes/design.md"),
        (WS, "src/app.py"),
        (WS2, "lib.py"),
    ]
    assert reads.files_mentioning_or_defining([]) == []


def test_tagged_files_match_tags_exactly_by_path_within_the_limit(reads: IndexReads) -> None:
    assert reads.tagged_files(["config", "Config"], 10) == [
        (WS, "docs/guide.md", "config"),
        (WS, "notes/design.md", "config"),
    ]
    assert reads.tagged_files(["config"], 1) == [(WS, "docs/guide.md", "config")]
    assert reads.tagged_files(["CONFIG"], 10) == []


def test_file_passages_are_the_chunks_in_order_with_their_file(reads: IndexReads) -> None:
    passages = reads.file_passages(WS, "notes/design.md")
    assert [p.text for p in passages] == [DESIGN_0, DESIGN_1]
    assert passages[1].span == (3, 0, 5, 32)
    assert passages[1].heading_path == ("Design", "Loading")
    assert {(p.file_kind, p.file_language, p.file_title) for p in passages} == {("notes", "markdown", "Design")}
    assert reads.file_passages(WS, "src/app.py")[1].symbol == "parse_config"
    assert reads.file_passages(WS2, "notes/design.md") == []


# Chunks ------------------------------------------------------------------------------------------------------


def test_chunk_lookups_answer_for_the_ids_they_find(reads: IndexReads) -> None:
    assert reads.chunk_count() == 8
    assert reads.chunk_files(["c-app-1", "c-lib-0", "nope"]) == {"c-app-1": "f-app", "c-lib-0": "f-lib"}
    assert reads.chunk_texts(["c-design-1", "nope"]) == {"c-design-1": DESIGN_1}
    assert reads.located_chunk_texts(["c-app-1"]) == {"c-app-1": LocatedText(APP_1, 4, 0)}
    assert reads.chunk_texts([]) == {}


def test_chunk_units_give_the_file_kind_symbol_and_heading_path(reads: IndexReads) -> None:
    units = sorted(reads.chunk_units(["c-app-0", "c-design-1", "nope"]))
    assert units == [
        ("c-app-0", "f-app", "code", "Config", "[]"),
        ("c-design-1", "f-design", "notes", None, '["Design", "Loading"]'),
    ]


def test_hit_chunks_carry_the_definition_that_the_chunk_belongs_to(reads: IndexReads) -> None:
    hits = reads.hit_chunks(["c-app-1", "c-design-1"])
    code = hits["c-app-1"]
    assert (code.file_id, code.text, code.span, code.root, code.rel_path) == (
        "f-app",
        APP_1,
        (4, 0, 5, 19),
        WS,
        "src/app.py",
    )
    assert (code.kind, code.language, code.symbol, code.heading_path) == ("code", "python", "parse_config", ())
    assert (code.symbol_kind, code.definition) == ("function", (4, 0, 5, 19))
    prose = hits["c-design-1"]
    assert (prose.symbol, prose.symbol_kind, prose.definition) == (None, None, None)
    assert prose.heading_path == ("Design", "Loading")


# Full-text index ---------------------------------------------------------------------------------------------


def test_document_frequencies_count_chunks_for_the_terms_some_chunk_holds(reads: IndexReads) -> None:
    assert reads.fts_document_frequencies(["zebra", "loading", "nosuchword"]) == {"zebra": 2, "loading": 1}


def test_bm25_ranks_the_best_match_first_and_keeps_to_the_allowed_files(reads: IndexReads) -> None:
    assert reads.bm25_chunk_ids('"zebra"', 10, None) == ["c-guide-0", "c-design-0"]
    assert reads.bm25_chunk_ids('"zebra"', 1, None) == ["c-guide-0"]
    assert reads.bm25_chunk_ids('"zebra"', 10, {"f-design"}) == ["c-design-0"]
    assert reads.bm25_chunk_ids('"zebra"', 10, set()) == []
    assert reads.bm25_chunk_ids('"nosuchword"', 10, None) == []


# Symbols -----------------------------------------------------------------------------------------------------


def test_symbol_names_are_distinct(reads: IndexReads) -> None:
    assert sorted(reads.symbol_names()) == ["Config", "load", "parse_config"]


def test_declarations_match_names_and_qualified_names_by_root_and_path(reads: IndexReads) -> None:
    assert reads.declarations_named("Config") == [
        SymbolDeclaration(WS, "src/app.py", "Config", 0, 6),
        SymbolDeclaration(WS2, "lib.py", "Config", 0, 6),
    ]
    assert reads.declarations_named("Config.load") == [SymbolDeclaration(WS, "src/app.py", "load", 1, 8)]
    assert reads.declarations_named("nothing") == []
    assert reads.declaration_positions(["Config", "load"]) == {
        FilePosition(WS, "src/app.py", 0, 6),
        FilePosition(WS2, "lib.py", 0, 6),
        FilePosition(WS, "src/app.py", 1, 8),
    }


def test_symbol_definitions_come_with_doc_and_chunk_within_the_limit(reads: IndexReads) -> None:
    [first] = reads.symbol_definitions("Config", 1)
    assert (first.rel_path, first.root, first.doc) == ("lib.py", WS2, None), "ordered by path"
    [parse] = reads.symbol_definitions("parse_config", 5)
    assert (parse.kind, parse.qualified_name, parse.name_line, parse.name_char) == ("function", "parse_config", 4, 4)
    assert (parse.chunk_id, parse.chunk_text, parse.chunk_start_line) == ("c-app-1", APP_1, 4)
    [load] = reads.symbol_definitions("Config.load", 5)
    assert (load.name, load.kind) == ("load", "method")
    app_config = reads.symbol_definitions("Config", 5)[1]
    assert app_config.doc == "Settings for the app. Loaded once."


def test_symbol_places_keep_the_first_per_name_by_path_and_line(reads: IndexReads) -> None:
    places = reads.symbol_places(["Config", "load"], 1)
    assert [(p.name, p.rel_path, p.name_line) for p in places] == [("Config", "lib.py", 0), ("load", "src/app.py", 1)]
    assert places[1].qualified_name == "Config.load"
    assert len(reads.symbol_places(["Config"], 20)) == 2


def test_file_outline_lists_enclosing_symbols_before_the_symbols_they_hold(reads: IndexReads) -> None:
    outline = reads.file_outline("f-app")
    assert [(s.name, s.qualified_name, s.kind) for s in outline] == [
        ("Config", "Config", "class"),
        ("load", "Config.load", "method"),
        ("parse_config", "parse_config", "function"),
    ]
    assert (outline[1].span, outline[1].name_line, outline[1].name_char) == ((1, 4, 2, 29), 1, 8)
    assert outline[0].doc == "Settings for the app. Loaded once."
    assert reads.file_outline("f-design") == []


def test_symbols_in_files_and_in_chunks(reads: IndexReads) -> None:
    symbols = reads.symbols_in_files(["f-app", "f-lib"])
    assert sorted((s.file_id, s.name, s.start_line, s.end_line, s.chunk_id) for s in symbols) == [
        ("f-app", "Config", 0, 2, "c-app-0"),
        ("f-app", "load", 1, 2, "c-app-0"),
        ("f-app", "parse_config", 4, 5, "c-app-1"),
        ("f-lib", "Config", 0, 0, "c-lib-0"),
    ]
    assert [s.start_line for s in symbols] == sorted(s.start_line for s in symbols)
    assert reads.symbols_defined_in(["c-app-0", "c-design-0"]) == ["Config", "load"]


# Sections ----------------------------------------------------------------------------------------------------


def test_section_reads(reads: IndexReads) -> None:
    assert sorted(reads.section_titles()) == [
        ("sec-design", "Design"),
        ("sec-guide", "Guide"),
        ("sec-loading", "Loading"),
    ]
    sections = reads.file_sections("f-design")
    assert [(s.id, s.title, s.span, s.parent_id) for s in sections] == [
        ("sec-design", "Design", (0, 0, 5, 32), None),
        ("sec-loading", "Loading", (3, 0, 5, 32), "sec-design"),
    ]
    extents = sorted(reads.section_extents(["f-design"]), key=lambda s: s.id)
    assert [(e.file_id, e.id, e.level, e.start_line, e.end_line) for e in extents] == [
        ("f-design", "sec-design", 1, 0, 5),
        ("f-design", "sec-loading", 2, 3, 5),
    ]


def test_section_headings_carry_the_parent_title_and_the_chunk_holding_the_heading(reads: IndexReads) -> None:
    [loading] = reads.section_headings(["sec-loading"])
    assert (loading.title, loading.start_line, loading.start_char, loading.root, loading.rel_path) == (
        "Loading",
        3,
        0,
        WS,
        "notes/design.md",
    )
    assert (loading.parent_title, loading.chunk_text, loading.chunk_start_line, loading.chunk_start_char) == (
        "Design",
        DESIGN_1,
        3,
        0,
    )
    [design] = reads.section_headings(["sec-design"])
    assert (design.parent_title, design.chunk_text) == (None, DESIGN_0)
    assert reads.section_headings(["nope"]) == []


# Mentions and tags -------------------------------------------------------------------------------------------


def test_mentions_in_notes_leave_out_code_within_the_limit(reads: IndexReads) -> None:
    mentions = reads.mentions_in_notes(["Config"], 50)
    assert sorted(m.chunk_id for m in mentions) == ["c-design-0", "c-design-1", "c-guide-0", "c-pdf-0"]
    guide = next(m for m in mentions if m.chunk_id == "c-guide-0")
    assert (guide.file_id, guide.root, guide.rel_path) == ("f-guide", WS, "docs/guide.md")
    assert len(reads.mentions_in_notes(["Config"], 2)) == 2
    assert reads.mentions_in_notes(["config"], 50) == [], "names match exactly"


def test_mentioning_chunks_are_distinct_and_include_code(reads: IndexReads) -> None:
    assert sorted(reads.mentioning_chunks(["Config", "parse_config"], 50)) == [
        ("c-app-0", "f-app"),
        ("c-app-1", "f-app"),
        ("c-design-0", "f-design"),
        ("c-design-1", "f-design"),
        ("c-guide-0", "f-guide"),
        ("c-pdf-0", "f-pdf"),
    ]
    assert len(reads.mentioning_chunks(["Config"], 3)) == 3


def test_defined_names_and_tags_are_counted_most_first(reads: IndexReads) -> None:
    around = ["c-design-0", "c-design-1"]
    assert reads.defined_names_mentioned_in(around, 10) == [("Config", 2), ("parse_config", 1)], "Zebra is no symbol"
    assert reads.defined_names_mentioned_in(around, 1) == [("Config", 2)]
    assert reads.tag_counts(["f-design", "f-guide"], 10) == [("config", 2), ("design", 1)]
    assert reads.tag_counts(["f-design", "f-guide"], 1) == [("config", 2)]


def test_hostile_values_are_only_values(reads: IndexReads) -> None:
    for hostile in ["'); DROP TABLE files; --", '" OR 1=1 --', "?1", "名前 😀", "a\\b"]:
        assert reads.declarations_named(hostile) == []
        assert reads.file_at([hostile], hostile) is None
        assert reads.tagged_files([hostile], 5) == []
        assert reads.mentions_in_notes([hostile], 5) == []
    assert reads.chunk_count() == 8


# No SQL outside the stores -----------------------------------------------------------------------------------

_SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|DELETE\s+FROM|json_each|chunks_fts)\b|\.query\(|\.execute\(|import sqlite3")


@pytest.mark.parametrize("package", ["retrieval", "chat"])
def test_retrieval_and_chat_hold_no_sql(package: str) -> None:
    modules = sorted((SERVER / package).rglob("*.py"))
    assert modules, f"no modules under {SERVER / package}"
    offenders = [
        f"{module.relative_to(SERVER)}:{number}: {line.strip()}"
        for module in modules
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1)
        if _SQL.search(line)
    ]
    assert offenders == [], "features read the index through IndexReads:\n" + "\n".join(offenders)
