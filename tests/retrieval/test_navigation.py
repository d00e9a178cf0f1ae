"""Editor navigation over the indexed fixture workspace: definitions, references, links, outlines, broken links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.workspace import open_workspace
from localmind.retrieval.navigation import DocumentSymbol, LinkRef, Navigator, link_at, links_in, word_at
from localmind.retrieval.results import Location, Position, Range
from localmind.stores.sqlite_store import SqliteStore

# Files added to this module's copy of the fixture workspace (never to tests/fixtures itself).
EXTRA_FILES = {
    "src/registry.py": (
        "class Registry:\n"
        '    """Keeps named loaders."""\n'
        "\n"
        "    def register(self, name: str) -> None:\n"
        "        self.names.append(name)\n"
        "\n"
        "    def lookup(self, name: str) -> dict[str, str]:\n"
        "        return parse_config(name)\n"
        "\n"
        "\n"
        "def helper() -> Registry:\n"
        "    return Registry()\n"
    ),
    "src/plugins.py": "def register(plugin: str) -> None:\n    pass\n",
    "src/tree.py": "def walk_tree(node: dict) -> int:\n    return 1 + sum(walk_tree(kid) for kid in node['kids'])\n",
    "src/links.py": "LINKS: list[str] = []\n",  # A code file with the stem of notes/links.md.
    "notes/links.md": (
        "# Links\n"
        "\n"
        "See [[design#Local first|the principle]] and [[missing-page]].\n"
        "Also [arch](architecture.md#search-flow), [gone](../src/gone.py) and [web](https://example.com/x).\n"
        "The diagram: ![diagram](diagram.png). `parse_config` differs from parse_configuration and my_parse_config.\n"
        "\n"
        "## Café ünïcode\n"
        "\n"
        "```\n"
        "[[inside-fence]]\n"
        "```\n"
        "\n"
        "### Deeper\n"
        "\n"
        "Back to [[links#café-ünïcode]].\n"
    ),
    "docs/overlined.rst": "==========\nOverview\n==========\n\nIntro.\n\nDetails\n-------\n\nMore.\n",
}
PNG_HEADER = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(scope="module")
def root(fixture_root: Path) -> Path:
    for rel_path, text in EXTRA_FILES.items():
        (fixture_root / rel_path).write_text(text, encoding="utf-8")
    (fixture_root / "notes" / "diagram.png").write_bytes(PNG_HEADER)
    return fixture_root


@pytest.fixture(scope="module")
def navigator(root: Path, fp32: OnnxEmbedder, indexing_settings: IndexingSettings) -> Iterator[Navigator]:
    workspace = open_workspace([root], indexing_settings)
    Indexer(workspace, indexing_settings, fp32).run()
    navigator = Navigator(SqliteStore(workspace.store_path))
    yield navigator
    navigator.store.close()


def spans(locations: list[Location]) -> list[tuple[str, int, int, int]]:
    """(path, line, first character, end character) of single-line locations."""
    assert all(loc.range.start.line == loc.range.end.line for loc in locations)
    return [(loc.path, loc.range.start.line, loc.range.start.character, loc.range.end.character) for loc in locations]


def covered_text(root: Path, location: Location) -> str:
    line = (root / location.path).read_text(encoding="utf-8").split("\n")[location.range.start.line]
    return line[location.range.start.character : location.range.end.character]


def at(line: int, character: int) -> Range:
    return Range(Position(line, character), Position(line, character))


# Definitions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "line"),
    [
        ("parse_config", "src/config_loader.py", 11),
        ("ConfigError", "src/config_loader.py", 7),
        ("startServer", "src/server.ts", 3),
        ("parseArgs", "src/args.ts", 6),
        ("Registry", "src/registry.py", 0),
    ],
)
def test_a_definition_is_the_range_of_its_name(
    navigator: Navigator, root: Path, name: str, path: str, line: int
) -> None:
    [location] = navigator.definitions(name)
    assert (location.path, location.range.start.line) == (path, line)
    assert covered_text(root, location) == name
    assert location.uri == (root / path).as_uri()
    assert location.root == str(root)


def test_definitions_of_a_name_defined_twice_come_in_path_order(navigator: Navigator, root: Path) -> None:
    locations = navigator.definitions("register")
    assert spans(locations) == [("src/plugins.py", 0, 4, 12), ("src/registry.py", 3, 8, 16)]
    assert all(covered_text(root, location) == "register" for location in locations)


def test_a_qualified_name_finds_only_its_own_definition(navigator: Navigator) -> None:
    assert spans(navigator.definitions("Registry.register")) == [("src/registry.py", 3, 8, 16)]


@pytest.mark.parametrize("name", ["", "   ", "nowhere_defined", "\ud800", "x'; DROP TABLE symbols; --", "%", "*"])
def test_unknown_or_odd_names_have_no_definitions(navigator: Navigator, name: str) -> None:
    assert navigator.definitions(name) == []
    assert navigator.references(name, include_declaration=True) == []
    assert navigator.definitions("parse_config")  # The store is intact.


# References ----------------------------------------------------------------------------------------------


def test_references_find_mentions_in_code_and_notes(navigator: Navigator, root: Path) -> None:
    locations = navigator.references("ConfigError", include_declaration=False)
    assert spans(locations) == [("notes/architecture.md", 16, 24, 35), ("src/config_loader.py", 16, 18, 29)]
    assert all(covered_text(root, location) == "ConfigError" for location in locations)


def test_references_include_the_declaration_when_asked(navigator: Navigator) -> None:
    without = spans(navigator.references("ConfigError", include_declaration=False))
    with_declaration = spans(navigator.references("ConfigError", include_declaration=True))
    assert with_declaration == [("src/config_loader.py", 7, 6, 17), *without]


def test_references_to_a_qualified_name_skip_the_declarations_of_namesakes(navigator: Navigator) -> None:
    """plugins.py declares another `register`: a declaration, not a use of Registry.register."""
    assert navigator.references("Registry.register", include_declaration=False) == []
    assert spans(navigator.references("Registry.register", include_declaration=True)) == [("src/registry.py", 3, 8, 16)]


def test_references_across_languages_and_notes(navigator: Navigator) -> None:
    assert spans(navigator.references("parseArgs", include_declaration=False)) == [
        ("notes/architecture.md", 11, 59, 68),
        ("src/server.ts", 0, 9, 18),
        ("src/server.ts", 4, 15, 24),
    ]


def test_references_match_whole_words_only(navigator: Navigator, root: Path) -> None:
    """links.md also holds parse_configuration and my_parse_config, which are other words."""
    locations = navigator.references("parse_config", include_declaration=False)
    assert spans(locations) == [
        ("notes/architecture.md", 6, 37, 49),
        ("notes/links.md", 4, 39, 51),
        ("src/registry.py", 7, 15, 27),
    ]
    assert all(covered_text(root, location) == "parse_config" for location in locations)


def test_references_inside_the_chunk_that_defines_the_name(navigator: Navigator) -> None:
    """The index records no mention of a name in the chunk defining it; a recursive call there still counts."""
    sql = "SELECT COUNT(*) FROM mentions WHERE name = ?"
    assert navigator.store.query(sql, ("walk_tree",)) == [(0,)]
    assert spans(navigator.references("walk_tree", include_declaration=False)) == [("src/tree.py", 1, 19, 28)]


def test_references_in_the_defining_file(navigator: Navigator) -> None:
    assert spans(navigator.references("Registry", include_declaration=False)) == [
        ("src/registry.py", 10, 16, 24),
        ("src/registry.py", 11, 11, 19),
    ]


def test_a_word_that_names_no_symbol_has_no_references(navigator: Navigator) -> None:
    assert navigator.references("Queries", include_declaration=True) == []


# Links ---------------------------------------------------------------------------------------------------


def note_links(root: Path, rel_path: str) -> list[LinkRef]:
    return links_in((root / rel_path).read_text(encoding="utf-8"))


def test_a_wiki_link_resolves_to_the_note_of_that_name(navigator: Navigator, root: Path) -> None:
    wiki = next(link for link in note_links(root, "notes/architecture.md") if link.kind == "wiki")
    assert (wiki.target, wiki.anchor) == ("design", None)
    location = navigator.resolve_link(root, "notes/architecture.md", wiki)
    assert location == Location((root / "notes/design.md").as_uri(), "notes/design.md", str(root), at(0, 0))


def test_a_markdown_link_resolves_relative_to_its_file(navigator: Navigator, root: Path) -> None:
    markdown = next(link for link in note_links(root, "notes/architecture.md") if link.kind == "markdown")
    assert markdown.target == "../src/config_loader.py"
    location = navigator.resolve_link(root, "notes/architecture.md", markdown)
    assert location is not None
    assert (location.path, location.range) == ("src/config_loader.py", at(0, 0))


def test_an_anchor_leads_to_its_heading_line(navigator: Navigator, root: Path) -> None:
    wiki, _, markdown, *_ = note_links(root, "notes/links.md")
    assert (wiki.target, wiki.anchor) == ("design", "Local first")
    assert (markdown.target, markdown.anchor) == ("architecture.md", "search-flow")
    to_design = navigator.resolve_link(root, "notes/links.md", wiki)
    to_architecture = navigator.resolve_link(root, "notes/links.md", markdown)
    assert to_design is not None and to_architecture is not None
    assert spans([to_design, to_architecture]) == [("notes/design.md", 4, 0, 14), ("notes/architecture.md", 9, 0, 14)]
    assert covered_text(root, to_architecture) == "## Search flow"


def test_a_wiki_link_prefers_a_note_to_a_code_file_of_the_same_stem(navigator: Navigator, root: Path) -> None:
    assert navigator.file_of(root, "src/links.py") is not None
    location = navigator.resolve_link(root, "notes/design.md", LinkRef("wiki", "Links", None, at(0, 0)))
    assert location is not None and location.path == "notes/links.md"


def test_a_unicode_anchor_matches_its_heading(navigator: Navigator, root: Path) -> None:
    back = note_links(root, "notes/links.md")[-1]
    assert (back.target, back.anchor) == ("links", "café-ünïcode")
    location = navigator.resolve_link(root, "notes/links.md", back)
    assert location is not None
    assert covered_text(root, location) == "## Café ünïcode"


def test_an_unknown_anchor_leads_to_the_start_of_the_file(navigator: Navigator, root: Path) -> None:
    link = LinkRef("wiki", "design", "no-such-heading", at(0, 0))
    location = navigator.resolve_link(root, "notes/links.md", link)
    assert location is not None
    assert (location.path, location.range) == ("notes/design.md", at(0, 0))


def test_a_link_to_a_present_file_that_is_not_indexed_resolves(navigator: Navigator, root: Path) -> None:
    image = LinkRef("markdown", "diagram.png", None, at(0, 0))
    assert navigator.file_of(root, "notes/diagram.png") is None
    location = navigator.resolve_link(root, "notes/links.md", image)
    assert location is not None
    assert location.path == "notes/diagram.png"


@pytest.mark.parametrize(
    "link",
    [
        LinkRef("wiki", "missing-page", None, at(0, 0)),
        LinkRef("markdown", "../src/gone.py", None, at(0, 0)),
        LinkRef("markdown", "https://example.com/x", None, at(0, 0)),
        LinkRef("markdown", "../../../outside.md", None, at(0, 0)),
        LinkRef("wiki", "\ud800", None, at(0, 0)),
        LinkRef("wiki", "", "Design", at(0, 0)),
    ],
)
def test_links_to_nowhere_resolve_to_none(navigator: Navigator, root: Path, link: LinkRef) -> None:
    assert navigator.resolve_link(root, "notes/links.md", link) is None


def test_broken_links_flag_missing_targets_only(navigator: Navigator, root: Path) -> None:
    text = (root / "notes/links.md").read_text(encoding="utf-8")
    broken = navigator.broken_links(root, "notes/links.md", text)
    lines = text.split("\n")
    written = [lines[b.range.start.line][b.range.start.character : b.range.end.character] for b in broken]
    assert written == ["[[missing-page]]", "[gone](../src/gone.py)"]
    assert [b.target for b in broken] == ["missing-page", "../src/gone.py"]
    assert broken[0].range == Range(Position(2, 45), Position(2, 61))
    assert broken[0].message == "no note named 'missing-page' in the workspace"
    assert "../src/gone.py" in broken[1].message


def test_a_note_whose_links_all_resolve_has_no_broken_links(navigator: Navigator, root: Path) -> None:
    text = (root / "notes/architecture.md").read_text(encoding="utf-8")
    assert navigator.broken_links(root, "notes/architecture.md", text) == []


def test_broken_links_follow_the_editor_text_not_the_file(navigator: Navigator, root: Path) -> None:
    edited = "Unsaved: [[design]], [the sources](../src/), [[architecture]], [[not-written-yet]]"
    [broken] = navigator.broken_links(root, "notes/new-note.md", edited)
    assert broken.target == "not-written-yet"


# Document symbols ----------------------------------------------------------------------------------------


def outline(symbols: list[DocumentSymbol]) -> list[object]:
    return [(s.name, s.kind, outline(s.children)) if s.children else (s.name, s.kind) for s in symbols]


def test_methods_nest_under_their_class(navigator: Navigator, root: Path) -> None:
    symbols = navigator.document_symbols(root, "src/registry.py")
    assert outline(symbols) == [
        ("Registry", "class", [("register", "method"), ("lookup", "method")]),
        ("helper", "function"),
    ]
    registry = symbols[0]
    assert registry.selection_range == Range(Position(0, 6), Position(0, 14))
    assert registry.range.start == Position(0, 0) and registry.range.end.line == 7
    assert registry.detail == "Keeps named loaders."


def test_sections_nest_under_their_parent_section(navigator: Navigator, root: Path) -> None:
    symbols = navigator.document_symbols(root, "notes/links.md")
    assert outline(symbols) == [("Links", "section", [("Café ünïcode", "section", [("Deeper", "section")])])]
    unicode_section = symbols[0].children[0]
    assert unicode_section.selection_range == Range(Position(6, 0), Position(6, 15))
    assert unicode_section.range == Range(Position(6, 0), Position(15, 0))


def test_design_note_outline(navigator: Navigator, root: Path) -> None:
    symbols = navigator.document_symbols(root, "notes/design.md")
    assert outline(symbols) == [("Design", "section", [("Local first", "section"), ("One id per chunk", "section")])]


def test_an_overlined_title_is_selected_on_its_text_line(navigator: Navigator, root: Path) -> None:
    [overview] = navigator.document_symbols(root, "docs/overlined.rst")
    assert overview.name == "Overview"
    assert overview.selection_range == Range(Position(1, 0), Position(1, 8))
    assert [child.name for child in overview.children] == ["Details"]


@pytest.mark.parametrize("rel_path", ["nowhere.py", "", "../notes/design.md", "\ud800.md", "notes"])
def test_files_that_are_not_indexed_have_no_symbols_and_no_id(navigator: Navigator, root: Path, rel_path: str) -> None:
    assert navigator.document_symbols(root, rel_path) == []
    assert navigator.file_of(root, rel_path) is None


def test_file_of_gives_the_stored_id(navigator: Navigator, root: Path) -> None:
    [(stored,)] = navigator.store.query("SELECT id FROM files WHERE rel_path = ?", ("notes/design.md",))
    assert navigator.file_of(root, "notes/design.md") == stored
    assert navigator.file_of(root / "notes" / "..", "notes/design.md") == stored  # The root is resolved.


# Words and links in text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "character", "word"),
    [
        ("parse_config(path)", 0, "parse_config"),
        ("parse_config(path)", 5, "parse_config"),
        ("parse_config(path)", 12, "parse_config"),  # Just after the word.
        ("x = parse_config", 16, "parse_config"),  # At the end of the line.
        ("x = parse_config", 99, "parse_config"),  # Past the end of the line.
        ("a  b", 2, None),  # Between two spaces.
        ("f(a, b)", 4, None),  # Between ", " - after the comma, before the space.
        ("", 0, None),
        ("x", -1, None),
        ("1234 apples", 2, None),  # A number is no identifier.
        ("_private", 3, "_private"),
        ("résumé_été = 1", 4, "résumé_été"),
        ("cafe\u0301 = 2", 2, "cafe\u0301"),  # A combining accent stays in the word.
        ("😀 naïve", 7, "naïve"),
        ("foo-bar", 5, "bar"),
    ],
)
def test_word_at(line: str, character: int, word: str | None) -> None:
    assert word_at(line, character) == word


LINKS_TEXT = (
    "😀 See [[design|Design doc]] and [[notes/architecture#Search flow]].\n"
    'A [relative](../notes/a%20b.md#sec) link, an ![image](pic.png "title") and [web](https://x.org).\n'
    "`[[in-inline-code]]` is code.\n"
    "```\n"
    "[[in-fence]] and [x](fenced.md)\n"
    "```\n"
    "[ref]: <other note.md>\n"
)


def test_links_in_finds_wiki_and_markdown_links_with_exact_ranges() -> None:
    found = links_in(LINKS_TEXT)
    lines = LINKS_TEXT.split("\n")
    written = [lines[link.range.start.line][link.range.start.character : link.range.end.character] for link in found]
    assert written == [
        "[[design|Design doc]]",
        "[[notes/architecture#Search flow]]",
        "[relative](../notes/a%20b.md#sec)",
        '![image](pic.png "title")',
        "[web](https://x.org)",
        "[ref]: <other note.md>",
    ]
    assert [(link.kind, link.target, link.anchor) for link in found] == [
        ("wiki", "design", None),
        ("wiki", "notes/architecture", "Search flow"),
        ("markdown", "../notes/a%20b.md", "sec"),
        ("markdown", "pic.png", None),
        ("markdown", "https://x.org", None),
        ("markdown", "other note.md", None),
    ]
    assert found[0].range == Range(Position(0, 6), Position(0, 27))  # The emoji is one character.


def test_links_in_text_without_links() -> None:
    assert links_in("") == []
    assert links_in("[[]] [x]() [not a link] ]] [[") == []


@pytest.mark.parametrize(
    ("line", "character", "target"),
    [
        (0, 6, "design"),  # On the opening "[[".
        (0, 7, "design"),
        (0, 15, "design"),  # Inside the alias.
        (0, 27, "design"),  # Just after the closing "]]".
        (0, 28, None),
        (0, 3, None),
        (1, 2, "../notes/a%20b.md"),
        (4, 3, None),  # Inside a fenced block.
        (9, 0, None),  # Past the last line.
    ],
)
def test_link_at(line: int, character: int, target: str | None) -> None:
    link = link_at(LINKS_TEXT, line, character)
    assert (link.target if link else None) == target


def test_link_at_prefers_the_link_that_starts_where_another_ends() -> None:
    link = link_at("[[a]][[b]]", 0, 5)
    assert link is not None and link.target == "b"
