"""workspace/symbol on the fixture workspace: names first (exact, prefix, part prefix), then symbols and
headings found by meaning; hostile queries never raise; a re-index is seen at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from localmind.config import RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import IndexReport
from localmind.indexing.workspace import Workspace
from localmind.retrieval import Searcher
from localmind.retrieval.results import Location
from localmind.retrieval.symbols import _NameIndex, name_parts, name_score, workspace_symbols
from localmind.stores.sqlite_store import SqliteStore

RunIndex = Callable[..., tuple[IndexReport, Workspace]]  # The run_index fixture of tests/conftest.py.


def text_at(root: Path, location: Location) -> str:
    line = (root / location.path).read_text(encoding="utf-8").splitlines()[location.range.start.line]
    return line[location.range.start.character : location.range.end.character]


def names(searcher: Searcher, query: str, limit: int = 50) -> list[str]:
    return [hit.name for hit in workspace_symbols(searcher, query, limit)]


def test_an_exact_name_comes_first_at_its_name(searcher: Searcher, fixture_root: Path) -> None:
    [first, *rest] = workspace_symbols(searcher, "parse_config")
    assert (first.name, first.kind, first.location.path) == ("parse_config", "function", "src/config_loader.py")
    assert text_at(fixture_root, first.location) == "parse_config"
    assert first.location.uri == (fixture_root / "src/config_loader.py").as_uri()
    assert first.container == "src/config_loader.py"
    assert all(hit.score < first.score for hit in rest)


def test_names_match_in_any_case(searcher: Searcher) -> None:
    assert names(searcher, "PARSEARGS")[0] == "parseArgs"
    assert names(searcher, "configerror")[0] == "ConfigError"


def test_a_prefix_finds_the_names_it_starts_shortest_first(searcher: Searcher) -> None:
    assert names(searcher, "pars")[:2] == ["parseArgs", "parse_config"]


def test_a_part_prefix_finds_names_by_a_later_part(searcher: Searcher) -> None:
    # ConfigError starts with the query; parse_config and merge_configs have it as a later part.
    assert names(searcher, "conf")[:3] == ["ConfigError", "parse_config", "merge_configs"]
    assert names(searcher, "Server")[:2] == ["ServerArgs", "startServer"]


def test_a_concept_is_found_by_meaning(searcher: Searcher) -> None:
    # No word of either query is a part of the name found.
    assert names(searcher, "boot the http listener")[0] == "startServer"
    assert names(searcher, "exception for bad settings")[0] == "ConfigError"


def test_section_hits_map_to_their_headings(searcher: Searcher, fixture_root: Path) -> None:
    [first, *_] = workspace_symbols(searcher, "nothing leaves the computer")
    assert (first.name, first.kind, first.container) == ("Local first", "section", "Design")
    assert first.location.path == "notes/design.md"
    assert text_at(fixture_root, first.location) == "Local first"
    [install, *_] = workspace_symbols(searcher, "how do I install it")
    assert (install.name, install.kind, install.location.path) == ("Installing", "section", "docs/guide.rst")
    assert text_at(fixture_root, install.location) == "Installing"


def test_headings_match_by_name_too(searcher: Searcher, fixture_root: Path) -> None:
    [first, *_] = workspace_symbols(searcher, "flow")
    assert (first.name, first.kind, first.container) == ("Search flow", "section", "Architecture")
    assert text_at(fixture_root, first.location) == "Search flow"
    assert first.score >= 1  # A name match, above every search hit.


def test_each_place_is_listed_once_within_the_limit(searcher: Searcher) -> None:
    hits = workspace_symbols(searcher, "parse_config")  # Found by its name and by the search.
    places = [(h.location.uri, h.location.range.start.line, h.location.range.start.character) for h in hits]
    assert len(places) == len(set(places)) > 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(workspace_symbols(searcher, "configuration", limit=2)) == 2


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_gives_nothing(searcher: Searcher, query: str) -> None:
    assert workspace_symbols(searcher, query) == []


@pytest.mark.parametrize(
    "query",
    [
        "x" * 10_240,
        "parse " * 2_000,
        '"',
        'parse_config" OR 1=1 --',
        "NEAR(parse config) AND * ^col:x",
        "\ud800parse",
        "\x00",
        "名前 😀 Über",
        "()[]{}",
    ],
)
def test_hostile_queries_never_raise(searcher: Searcher, query: str) -> None:
    hits = workspace_symbols(searcher, query, limit=5)
    assert len(hits) <= 5
    assert all(hit.location.uri.startswith("file://") for hit in hits)


def test_name_parts_split_words_and_humps() -> None:
    assert name_parts("parseHTTPResponse") == ["parse", "http", "response"]
    assert name_parts("merge_configs") == ["merge", "configs"]
    assert name_parts("Search flow") == ["search", "flow"]
    assert name_parts("Über_Größe") == ["über", "grösse"]


def test_name_scores_rank_same_text_case_parts_prefix_then_later_part() -> None:
    ranked = ["Config", "config", "con_fig", "ConfigError", "Configuration", "parse_config"]
    scores = [name_score(name, "Config") for name in ranked]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(ranked)
    assert name_score("read_lines", "Config") == 0


def test_a_new_symbol_is_found_after_a_reindex(workspace_dir: Path, run_index: RunIndex, fp32: OnnxEmbedder) -> None:
    _, workspace = run_index(workspace_dir)
    searcher = Searcher(SqliteStore(workspace.store_path), fp32, RetrievalSettings())
    try:
        assert "freshly_added" not in names(searcher, "freshly")
        (workspace_dir / "src" / "fresh.py").write_text("def freshly_added() -> None:\n    pass\n")
        run_index(workspace_dir)
        [first, *_] = workspace_symbols(searcher, "freshly")
        assert first.name == "freshly_added" and first.score >= 2  # Found by its name, not only by search.
        (workspace_dir / "src" / "fresh.py").unlink()
        run_index(workspace_dir)
        assert all(hit.name != "freshly_added" for hit in workspace_symbols(searcher, "freshly"))
    finally:
        searcher.close()
        searcher.store.close()


class _Names:
    """The two reads the name index makes, over names a test sets."""

    def __init__(self, symbols: list[str], sections: list[tuple[str, str]]) -> None:
        self.symbols, self.sections = symbols, sections

    def symbol_names(self) -> list[str]:
        return list(self.symbols)

    def section_titles(self) -> list[tuple[str, str]]:
        return list(self.sections)


def fresh_pairs(reads: _Names, generation: int) -> list[tuple[str, str]]:
    index = _NameIndex()
    index.follow(reads, generation)  # type: ignore[arg-type]
    return index.pairs


@pytest.mark.parametrize("many", [False, True])
def test_the_name_index_follows_writes_by_difference(many: bool) -> None:
    """After names come and go, the index holds exactly the keys a fresh build would, whether it merged the
    difference (a few names) or sorted afresh (many)."""
    filler = [f"helper_{n}" for n in range(400)]
    reads = _Names(["parse_config", "ConfigError", *filler], [("s1", "Search flow")])
    index = _NameIndex()
    index.follow(reads, 1)  # type: ignore[arg-type]
    assert index.names_from("conf") == {"parse_config", "ConfigError"}
    reads.symbols = ["parse_config", "read_lines", *(filler[:100] if many else filler)]
    reads.sections = [("s1", "Search flow"), ("s2", "Config files"), ("s3", "Config files")]
    index.follow(reads, 1)  # type: ignore[arg-type]
    assert index.names_from("conf") == {"parse_config", "ConfigError"}, "the same generation reads nothing again"
    index.follow(reads, 2)  # type: ignore[arg-type]
    assert index.pairs == fresh_pairs(reads, 2)
    assert index.names_from("conf") == {"parse_config", "Config files"}
    assert index.names_from("lines") == {"read_lines"} and index.headings["Config files"] == ("s2", "s3")
    assert "ConfigError" not in index.symbol_names and index.names_from("error") == set()
