"""The parsers: what each one finds in Markdown, source code, reStructuredText, plain text and PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfWriter

from localmind.indexing.documents import ParsedDocument, SymbolDef
from localmind.indexing.parsers import code as code_parser
from localmind.indexing.parsers import is_pdf, language_for, parse_file, parse_pdf

FIXTURES = Path(__file__).parent.parent / "fixtures" / "parsers"
ALL_FIXTURES = sorted(path.name for path in FIXTURES.iterdir())
CODE_FIXTURES = [name for name in ALL_FIXTURES if language_for(name) not in ("markdown", "rst", "text")]


def parse_fixture(name: str) -> ParsedDocument:
    return parse_file(name, (FIXTURES / name).read_text(encoding="utf-8"))


def symbols_of(document: ParsedDocument) -> dict[str, SymbolDef]:
    """Symbols by qualified name; where two share one (a Rust struct and its impl), the first."""
    symbols: dict[str, SymbolDef] = {}
    for symbol in document.symbols:
        symbols.setdefault(symbol.qualified_name, symbol)
    return symbols


def assert_blocks_cover(document: ParsedDocument) -> None:
    """Blocks run from the start of the content (past any front matter) to the end of the text, each starting
    where the previous one ended."""
    assert document.blocks, "a non-empty document has blocks"
    cursor = document.body_start
    for block in document.blocks:
        assert block.start == cursor, block
        assert block.end > block.start, block
        cursor = block.end
    assert cursor == len(document.text)


# Dispatch.


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/app.py", "python"),
        ("web/App.TSX", "tsx"),
        ("web/main.ts", "typescript"),
        ("web/legacy.cjs", "javascript"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/Main.java", "java"),
        ("include/point.h", "c"),
        ("src/shape.hxx", "cpp"),
        ("init.lua", "lua"),
        ("scripts/run.sh", "bash"),
        ("notes/Idea.MD", "markdown"),
        ("notes/page.mdx", "markdown"),
        ("docs/index.rst", "rst"),
        ("_sources/library/os.rst.txt", "rst"),
        ("papers/paper.PDF", "pdf"),
        ("LICENSE", "text"),
        ("notes.txt", "text"),
    ],
)
def test_language_for(path: str, language: str) -> None:
    assert language_for(path) == language


def test_is_pdf() -> None:
    assert is_pdf("papers/Paper.pdf")
    assert not is_pdf("papers/paper.pdf.md")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("notes/idea.md", "notes"),
        ("docs/guide.md", "docs"),
        ("project/doc/setup.md", "docs"),
        ("README.md", "docs"),
        ("pkg/Changelog.markdown", "docs"),
        ("notes/docs-and-more.md", "notes"),
    ],
)
def test_markdown_kind_depends_on_folder_and_name(path: str, kind: str) -> None:
    assert parse_file(path, "# Title\n").kind == kind


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_blocks_cover_the_text_in_order(name: str) -> None:
    assert_blocks_cover(parse_fixture(name))


def test_blank_text_has_no_blocks() -> None:
    for path in ("a.md", "a.py", "a.rst", "a.txt"):
        assert parse_file(path, "  \n\n").blocks == []


# Markdown.


def test_markdown_headings_levels_and_extents() -> None:
    document = parse_fixture("notes.md")
    text = document.text
    assert [(heading.title, heading.level) for heading in document.headings] == [
        ("Overview", 1),
        ("Details #detail", 2),
        ("Setext Title", 1),
        ("Subsection", 2),
    ]
    overview, details, setext, subsection = document.headings
    assert text[overview.start :].startswith("# Overview\n")
    assert text[details.start :].startswith("## Details #detail\n")
    assert overview.end == details.end == setext.start
    assert text[setext.start :].startswith("Setext Title\n====")
    assert setext.end == subsection.end == len(text)


def test_setext_heading_takes_the_whole_paragraph() -> None:
    document = parse_file("a.md", "intro\n\nfirst line\nsecond line\n---\n\n- item\n---\n")
    assert [(heading.title, heading.level) for heading in document.headings] == [("first line second line", 2)]
    assert document.headings[0].start == document.text.index("first line")


def test_markdown_section_blocks_carry_heading_paths() -> None:
    document = parse_fixture("notes.md")
    sections = [(block.kind, block.heading_path) for block in document.blocks]
    assert sections == [
        ("preamble", ()),
        ("section", ("Overview",)),
        ("section", ("Overview", "Details #detail")),
        ("code", ("Overview", "Details #detail")),
        ("section", ("Setext Title",)),
        ("section", ("Setext Title", "Subsection")),
        ("code", ("Setext Title", "Subsection")),
        ("section", ("Setext Title", "Subsection")),
    ]


def test_code_fences_are_blocks_without_headings_links_or_tags() -> None:
    document = parse_fixture("notes.md")
    fences = [document.text[block.start : block.end] for block in document.blocks if block.kind == "code"]
    assert fences[0].startswith("```python\n# Not a heading") and fences[0].rstrip().endswith("```")
    assert fences[1].startswith("~~~\n## also not a heading")
    assert "Not a heading" not in [heading.title for heading in document.headings]
    assert "not a link" not in [link.target for link in document.links]


def test_markdown_with_windows_line_endings() -> None:
    text = "---\r\ntitle: T\r\n---\r\n# One\r\n\r\ntext #tag\r\n\r\nTwo\r\n===\r\n```\r\n# no\r\n```\r\n"
    document = parse_file("w.md", text)
    assert document.title == "T"
    assert [(heading.title, heading.level) for heading in document.headings] == [("One", 1), ("Two", 1)]
    assert document.tags == ["tag"]
    assert_blocks_cover(document)


def test_unclosed_fence_runs_to_the_end() -> None:
    document = parse_file("a.md", "# Title\n\n```\n# not a heading\n#not-a-tag\n")
    assert [heading.title for heading in document.headings] == ["Title"]
    assert document.tags == []
    assert document.blocks[-1].kind == "code"
    assert document.blocks[-1].end == len(document.text)


def test_front_matter_title_and_inline_tags() -> None:
    document = parse_fixture("notes.md")
    assert document.title == "Project Notes"
    assert document.tags[:2] == ["planning", "Research"]


def test_front_matter_list_tags() -> None:
    text = "---\ntitle: Plain title\ntags:\n  - alpha\n  - '#beta'\nother: x\n---\n# Heading\n"
    document = parse_file("n.md", text)
    assert document.title == "Plain title"
    assert document.tags == ["alpha", "beta"]
    assert [heading.title for heading in document.headings] == ["Heading"]


@pytest.mark.parametrize(
    "text",
    ["---\ntitle: never closed\n# Heading\n", "---\n: : :\n- stray\ntags: [\n---\n", "---\n---\n", "---"],
)
def test_malformed_front_matter_does_not_raise(text: str) -> None:
    parse_file("n.md", text)


def test_title_falls_back_to_the_first_h1() -> None:
    assert parse_file("n.md", "## Minor\n\n# Major\n\n# Later\n").title == "Major"
    assert parse_file("n.md", "no headings here\n").title is None


def test_wiki_links_with_alias_and_heading() -> None:
    document = parse_fixture("notes.md")
    wiki = [(link.target, document.text[link.start : link.end]) for link in document.links if link.kind == "wiki"]
    assert wiki == [
        ("Daily Log", "[[Daily Log]]"),
        ("Meeting Notes", "[[Meeting Notes|the meeting]]"),
        ("Roadmap", "[[Roadmap#Q3 goals]]"),
    ]


def test_markdown_links_urls_paths_and_anchors() -> None:
    document = parse_fixture("notes.md")
    links = [(link.kind, link.target) for link in document.links if link.kind != "wiki"]
    assert links == [
        ("markdown", "docs/Guide One.md"),
        ("url", "https://example.com/page#top"),
        ("markdown", "images/flow.png"),
        ("markdown", "../shared/reference.md"),
    ]
    first = document.links[0]
    assert document.text[first.start : first.end] == "[the guide](docs/Guide%20One.md#install)"


def test_mailto_is_a_url_and_same_page_anchor_is_skipped() -> None:
    document = parse_file("n.md", "[mail](mailto:a@b.org) [here](#top) [ok](<my notes.md>)\n")
    assert [(link.kind, link.target) for link in document.links] == [
        ("url", "mailto:a@b.org"),
        ("markdown", "my notes.md"),
    ]


def test_tags_come_from_prose_and_front_matter_only() -> None:
    document = parse_fixture("notes.md")
    assert document.tags == ["planning", "Research", "inline-tag", "detail"]


def test_tags_skip_inline_code_numbers_and_headings() -> None:
    text = "# Heading\n\nUse `#not` and issue #42, a#b, but #Yes and #nested/tag-1 and #yes again.\n"
    assert parse_file("n.md", text).tags == ["Yes", "nested/tag-1"]


# Source code.

EXPECTED_SYMBOLS = {
    "sample.py": {
        ("greet", "function"),
        ("Greeter", "class"),
        ("Greeter.__init__", "method"),
        ("Greeter.wave", "method"),
        ("Greeter.Nested", "class"),
        ("main", "function"),
    },
    "sample.ts": {
        ("Shape", "interface"),
        ("Point", "type"),
        ("Color", "enum"),
        ("add", "function"),
        ("Circle", "class"),
        ("Circle.constructor", "method"),
        ("Circle.area", "method"),
        ("double", "function"),
        ("Geometry", "module"),
        ("Geometry.origin", "function"),
    },
    "sample.tsx": {("Props", "type"), ("Button", "function"), ("Card", "function")},
    "sample.js": {
        ("Counter", "class"),
        ("Counter.increment", "method"),
        ("ids", "function"),
        ("log", "function"),
        ("load", "function"),
    },
    "sample.go": {
        ("Shape", "interface"),
        ("Circle", "struct"),
        ("Meters", "type"),
        ("Names", "type"),
        ("Circle.Area", "method"),
        ("Describe", "function"),
    },
    "sample.rs": {
        ("Point", "struct"),
        ("Shape", "enum"),
        ("Area", "trait"),
        ("Area.area", "method"),
        ("Point", "impl"),
        ("Point.new", "method"),
        ("Wrapper", "impl"),
        ("Wrapper.area", "method"),
        ("Map", "type"),
        ("main", "function"),
        ("tests", "module"),
        ("tests.helper", "function"),
    },
    "Sample.java": {
        ("Sample", "class"),
        ("Sample.Sample", "method"),
        ("Sample.greet", "method"),
        ("Sample.Listener", "interface"),
        ("Sample.Listener.onEvent", "method"),
        ("Sample.Mode", "enum"),
        ("Pair", "class"),
    },
    "sample.c": {
        ("point", "struct"),
        ("point_t", "type"),
        ("color", "enum"),
        ("add", "function"),
        ("trace", "function"),
        ("make", "function"),
    },
    "sample.cpp": {
        ("geo", "module"),
        ("geo.Shape", "class"),
        ("geo.Shape.describe", "method"),
        ("geo.Point", "struct"),
        ("geo.twice", "function"),
        ("geo.Circle.area", "method"),
    },
    "sample.lua": {
        ("M.add", "function"),
        ("M.describe", "method"),
        ("helper", "function"),
        ("global_fn", "function"),
    },
    "sample.sh": {("greet", "function"), ("cleanup", "function")},
}

EXPECTED_IMPORTS = {
    "sample.py": ["os.path", "collections", ".sibling", "json", "re"],
    "sample.ts": ["./io", "node:path", "./helpers", "./legacy"],
    "sample.tsx": ["react"],
    "sample.js": ["fs", "./util", "./lazy.js"],
    "sample.go": ["fmt", "math", "strings"],
    "sample.rs": ["std::collections::HashMap", "crate::config", "super::util"],
    "Sample.java": ["java.util.List", "java.lang.Math.max", "java.io.*"],
    "sample.c": ["point.h"],
    "sample.cpp": ["shape.hpp"],
    "sample.lua": ["json", "lib.util"],
    "sample.sh": ["./lib/common.sh", "$HOME/.profile"],
}

EXPECTED_DOCS = {
    "sample.py": {"greet": "Greets someone by name.\nTwo lines of comment.", "Greeter.wave": "Waves a hand."},
    "sample.ts": {
        "Shape": "A shape with an area.",
        "add": "Computes the sum.",
        "Circle.area": "The area of the circle.",
    },
    "sample.tsx": {"Button": "A button with a label."},
    "sample.js": {"Counter": "Counts things.", "log": "Logs a message.", "ids": None},
    "sample.go": {"Circle": "Circle is round.", "Circle.Area": "Area returns the area.", "Describe": None},
    "sample.rs": {"Point": "A point in the plane.", "Point.new": "Creates a point.", "main": "The entry point."},
    "Sample.java": {"Sample": "A greeter.", "Sample.greet": "Says hello."},
    "sample.c": {"point": "A point.", "add": "Adds two numbers.", "trace": None},
    "sample.cpp": {"geo.Shape": "A shape."},
    "sample.lua": {"M.add": "Adds two numbers.\nReturns the sum."},
    "sample.sh": {"greet": "Prints a greeting.", "cleanup": None},
}


def test_every_code_fixture_has_expectations() -> None:
    assert set(CODE_FIXTURES) == set(EXPECTED_SYMBOLS) == set(EXPECTED_IMPORTS) == set(EXPECTED_DOCS)


@pytest.mark.parametrize("name", CODE_FIXTURES)
def test_symbols_and_kinds(name: str) -> None:
    document = parse_fixture(name)
    assert document.kind == "code"
    assert {(symbol.qualified_name, symbol.kind) for symbol in document.symbols} == EXPECTED_SYMBOLS[name]


@pytest.mark.parametrize("name", CODE_FIXTURES)
def test_symbol_offsets_slice_to_names_inside_definitions(name: str) -> None:
    document = parse_fixture(name)
    for symbol in document.symbols:
        assert document.text[symbol.name_start : symbol.name_end] == symbol.name
        assert symbol.start <= symbol.name_start < symbol.name_end <= symbol.end
        assert symbol.qualified_name.endswith(symbol.name)


@pytest.mark.parametrize("name", CODE_FIXTURES)
def test_imports_and_import_links(name: str) -> None:
    document = parse_fixture(name)
    assert document.imports == EXPECTED_IMPORTS[name]
    assert [link.target for link in document.links] == EXPECTED_IMPORTS[name]
    for link in document.links:
        assert link.kind == "import"
        assert document.text[link.start : link.end] == link.target


@pytest.mark.parametrize("name", CODE_FIXTURES)
def test_docs_from_comments_and_docstrings(name: str) -> None:
    symbols = symbols_of(parse_fixture(name))
    for qualified_name, doc in EXPECTED_DOCS[name].items():
        assert symbols[qualified_name].doc == doc, qualified_name


def test_python_definition_extent_includes_decorators() -> None:
    document = parse_fixture("sample.py")
    greeter = symbols_of(document)["Greeter"]
    assert document.text[greeter.start :].startswith("@decorator\nclass Greeter(Base):")
    assert document.text[: greeter.end].endswith("class Nested:\n        pass")


def test_python_blocks_follow_every_definition_nested_ones_too() -> None:
    document = parse_fixture("sample.py")
    blocks = [(block.kind, block.symbol) for block in document.blocks]
    assert blocks == [
        ("preamble", None),
        ("definition", "greet"),
        ("definition", "Greeter"),  # The header: decorator, class line and docstring.
        ("definition", "Greeter.__init__"),
        ("definition", "Greeter.wave"),  # A function inside a method stays in the method's body.
        ("definition", "Greeter.Nested"),
        ("definition", "main"),
    ]
    greet_block, header = document.blocks[1], document.blocks[2]
    assert document.text[greet_block.start :].startswith("# Greets someone by name.\n")
    assert (
        document.text[header.start : header.end].strip()
        == '@decorator\nclass Greeter(Base):\n    """Greets people politely."""'
    )
    assert header.signature == "class Greeter(Base):"
    wave = document.blocks[4]
    assert document.text[wave.start : wave.end].startswith("    async def wave(self):")
    assert document.text[wave.start : wave.end].rstrip().endswith("return inner")


def test_module_members_get_their_own_blocks() -> None:
    document = parse_fixture("sample.cpp")
    definitions = [block.symbol for block in document.blocks if block.kind == "definition"]
    assert definitions == ["geo", "geo.Shape", "geo.Shape.describe", "geo.Point", "geo.twice", "geo.Circle.area"]


def test_non_ascii_text_before_definitions_keeps_offsets_right() -> None:
    text = (
        '# Ünïcödé 日本語 🎉\nNAME = "héllo"\n\n\ndef grüß(wört):\n    """Sagt hallo. ✓"""\n\n\nclass Ça:\n    pass\n'
    )
    document = parse_file("u.py", text)
    for symbol in document.symbols:
        assert text[symbol.name_start : symbol.name_end] == symbol.name
    greet, klass = document.symbols
    assert greet.doc == "Sagt hallo. ✓"
    assert text[greet.start : greet.end].startswith("def grüß(wört):")
    assert text[klass.start : klass.end] == "class Ça:\n    pass"


@pytest.mark.parametrize(
    ("path", "text", "survivor"),
    [
        ("broken.py", "def ok():\n    pass\n\ndef broken(:\n    return\nclass\n\ndef after():\n    pass\n", "ok"),
        ("broken.ts", "export function ok() {}\nclass { method( {\nfunction after() {}\n", "ok"),
        ("broken.go", "package x\nfunc ok() {}\nfunc (\ntype T struct {\n", "ok"),
        ("broken.rs", "fn ok() {}\nimpl for {\nfn after() {}\n", "ok"),
        ("Broken.java", "class A { void m( { }\n", "A"),
        ("broken.c", "int ok(void) { return 0; }\nstruct { int\n", "ok"),
        ("broken.cpp", "namespace { class A { void f() {\n", None),
        ("broken.lua", "function ok() end\nfunction (\nreturn M\nlocal function after() end\n", "ok"),
        ("broken.sh", "ok() { echo; }\nif then fi }\n", "ok"),
    ],
)
def test_syntax_errors_do_not_crash(path: str, text: str, survivor: str | None) -> None:
    document = parse_file(path, text)
    assert_blocks_cover(document)
    for symbol in document.symbols:
        assert text[symbol.name_start : symbol.name_end] == symbol.name
    if survivor is not None:
        assert survivor in {symbol.name for symbol in document.symbols}


def test_code_that_cannot_be_parsed_in_time_falls_back_to_paragraphs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_parser, "_SECONDS_PER_FILE", 0.05)
    text = "function ok() end\n\n" + "[" * 100_000
    document = parse_file("hostile.lua", text)
    assert (document.kind, document.language, document.symbols) == ("code", "lua", [])
    assert [document.text[block.start : block.end] for block in document.blocks] == [
        "function ok() end\n\n",
        "[" * 100_000,
    ]


def test_python_docstring_after_a_comment() -> None:
    document = parse_file("d.py", 'def f():\n    # note\n    """The doc."""\n')
    assert document.symbols[0].doc == "The doc."


def test_deeply_broken_code_does_not_recurse_too_deep() -> None:
    text = "x = (\n" * 3000 + "def f():\n    pass\n"
    assert_blocks_cover(parse_file("deep.py", text))


# reStructuredText.


def test_rst_section_levels_by_first_appearance_of_each_style() -> None:
    document = parse_fixture("guide.rst")
    assert document.kind == "docs"
    assert document.title == "The User Guide"
    assert [(heading.title, heading.level) for heading in document.headings] == [
        ("The User Guide", 1),
        ("Installation", 2),
        ("From source", 3),
        ("Configuration", 2),
        ("Short", 3),
        ("Deep level", 4),
    ]


def test_rst_headings_start_at_the_overline_and_sections_nest() -> None:
    document = parse_fixture("guide.rst")
    text = document.text
    guide, installation, source, configuration, _, _ = document.headings
    assert text[guide.start :].startswith("=================\n The User Guide\n")
    assert text[installation.start :].startswith("Installation\n====")
    assert installation.end == source.end == configuration.start
    assert guide.end == len(text)
    paths = [block.heading_path for block in document.blocks]
    assert paths[0] == () and ("The User Guide", "Configuration", "Short", "Deep level") in paths


def test_rst_literal_blocks_and_short_underlines_are_not_titles() -> None:
    titles = [heading.title for heading in parse_fixture("guide.rst").headings]
    assert "Not a title" not in titles
    assert parse_file("a.rst", "Long title here\n----\n\ntext\n").headings == []


def test_rst_links() -> None:
    document = parse_fixture("guide.rst")
    assert [(link.kind, link.target) for link in document.links] == [
        ("url", "https://www.python.org/"),
        ("markdown", "other/page.rst"),
        ("markdown", "setup/advanced"),
        ("markdown", "faq"),
    ]
    link = document.links[2]
    assert document.text[link.start : link.end] == ":doc:`setup/advanced`"


def test_sphinx_rst_txt_sources_are_rst() -> None:
    assert parse_file("_sources/intro.rst.txt", "Intro\n=====\n").headings[0].title == "Intro"


# Plain text.


def test_plain_text_paragraphs() -> None:
    text = "First paragraph\nstill first.\n\n\nSecond one.\n   \nThird.\n"
    document = parse_file("notes.txt", text)
    assert (document.kind, document.language, document.title) == ("docs", "text", None)
    paragraphs = [text[block.start : block.end] for block in document.blocks]
    assert paragraphs == ["First paragraph\nstill first.\n\n\n", "Second one.\n   \n", "Third.\n"]
    assert {block.kind for block in document.blocks} == {"paragraph"}


# PDF.


def make_pdf(page_texts: list[str]) -> bytes:
    """A minimal PDF written by hand: one Helvetica text line per page, with a correct cross-reference table."""
    page_count = len(page_texts)
    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(page_count))
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, page_text in enumerate(page_texts):
        content = f"BT /F1 12 Tf 72 720 Td ({page_text}) Tj ET".encode()
        bodies.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * index} 0 R >>".encode()
        )
        bodies.append(f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
    document = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(document))
        document += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_offset = len(document)
    document += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode()
    document += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    document += f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref_offset}\n%%EOF\n".encode()
    return document


def test_pdf_pages_become_page_blocks() -> None:
    document = parse_pdf("paper.pdf", make_pdf(["Hello first page", "Second page here"]))
    assert (document.kind, document.language) == ("docs", "pdf")
    assert document.text == "Hello first page\n\nSecond page here"
    assert [(block.kind, block.page) for block in document.blocks] == [("page", 1), ("page", 2)]
    first, second = document.blocks
    assert document.text[first.start : first.end] == "Hello first page"
    assert document.text[second.start : second.end] == "Second page here"


def test_corrupt_pdf_raises_value_error() -> None:
    data = make_pdf(["Hello"])
    with pytest.raises(ValueError, match=r"broken\.pdf"):
        parse_pdf("broken.pdf", data[: len(data) // 3])
    with pytest.raises(ValueError, match=r"garbage\.pdf"):
        parse_pdf("garbage.pdf", b"not a pdf at all")


def test_encrypted_pdf_raises_value_error() -> None:
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.encrypt("secret", algorithm="RC4-128")
    output = io.BytesIO()
    writer.write(output)
    with pytest.raises(ValueError, match="encrypted"):
        parse_pdf("secret.pdf", output.getvalue())


def test_wiki_links_give_their_targets_and_read_as_their_labels() -> None:
    from localmind.indexing.parsers.markdown import wiki_link_targets, wiki_links_as_labels

    text = "See [[payments#retries|how we retry]], [[late-fees]] and ![[chart.png]]; not [[ ]]."
    assert wiki_link_targets(text) == ["payments", "late-fees", "chart.png"]
    assert wiki_links_as_labels(text) == "See how we retry, late-fees and chart.png; not ."
