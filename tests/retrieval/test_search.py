"""Hybrid search on the fixture workspace: each signal, the fusion, filters, hostile queries, ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.terms import camel_parts, expansions, query_terms
from localmind.indexing.workspace import open_workspace
from localmind.retrieval import QueryError, Searcher, lexical, parse_query
from localmind.retrieval.lexical import fts_expression


def top_paths(searcher: Searcher, text: str, **fields: object) -> list[str]:
    return [hit.path for hit in searcher.search(parse_query(query=text, **fields))]


def test_dense_finds_by_meaning_without_shared_words(searcher: Searcher) -> None:
    assert top_paths(searcher, "identifiers shared between stores", signals=("dense",))[0] == "notes/design.md"
    assert top_paths(searcher, "how do I install it", signals=("dense",))[0] == "docs/guide.rst"


def test_bm25_finds_a_camel_case_identifier_by_its_parts(searcher: Searcher) -> None:
    paths = top_paths(searcher, "parse args", signals=("lexical",), k=3)
    assert "src/args.ts" in paths


def test_bm25_ranks_exact_words(searcher: Searcher) -> None:
    assert top_paths(searcher, "quickstart virtual environment", signals=("lexical",))[0] == "docs/guide.rst"


def test_graph_reaches_a_definition_named_in_the_query(searcher: Searcher) -> None:
    hits = searcher.search(parse_query(query="parse_config", signals=("graph",), k=3))
    assert hits[0].path == "src/config_loader.py"
    assert hits[0].provenance == "graph"


def test_graph_expands_from_a_note_to_the_code_it_mentions(searcher: Searcher) -> None:
    query = parse_query(query="architecture notes search flow")
    walked = searcher._graph(query, searcher.rankings(query, None), None)
    files = list(searcher._owners(walked).values())
    sql = "SELECT rel_path FROM files WHERE id IN (SELECT value FROM json_each(?))"
    reached = {str(path) for (path,) in searcher.store.query(sql, (json.dumps(files),))}
    assert {"src/server.ts", "src/args.ts", "src/config_loader.py"} <= reached


def test_fusion_keeps_provenance_and_each_rank(searcher: Searcher) -> None:
    [hit, *_] = searcher.search(parse_query(query="where is parse_config defined"))
    assert hit.path == "src/config_loader.py"
    named = hit.provenance.split("+")
    assert named and set(named) <= set(hit.ranks) and all(rank >= 1 for rank in hit.ranks.values())
    assert all(hit.ranks[signal] <= 10 for signal in named) or len(named) == 1


def test_results_carry_exact_ranges_and_uris(searcher: Searcher, fixture_root: Path) -> None:
    for hit in searcher.search(parse_query(query="configuration", k=10)):
        assert hit.uri == (fixture_root / hit.path).as_uri()
        lines = (fixture_root / hit.path).read_text().split("\n")
        assert 0 <= hit.range.start.line <= hit.range.end.line < len(lines)
        assert hit.range.end.character <= len(lines[hit.range.end.line])
        excerpt_line = lines[hit.snippet_line].strip()
        unmasked = hit.snippet.split("\n")[0].split("*")[0]  # A secret in the file is masked in the snippet.
        assert unmasked and excerpt_line.startswith(unmasked[:40])


def test_the_snippet_marks_the_matched_words(searcher: Searcher) -> None:
    [hit, *_] = searcher.search(parse_query(query="KEY=VALUE lines", signals=("lexical",)))
    marked = {hit.snippet[a:b].lower() for a, b in hit.highlights}
    assert {"key", "value", "lines"} & marked


def test_overlapping_chunks_of_one_file_are_deduplicated(searcher: Searcher) -> None:
    hits = searcher.search(parse_query(query="configuration", k=20))
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            if a.uri == b.uri:
                assert a.range.end.line < b.range.start.line or b.range.end.line < a.range.start.line


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({"kind": "code"}, lambda p: p.startswith("src/")),
        ({"kind": "notes"}, lambda p: p.startswith("notes/")),
        ({"kind": "docs"}, lambda p: p.startswith("docs/") or p in ("README.md", ".gitignore")),
        ({"path": "src/*.ts"}, lambda p: p.endswith(".ts")),
        ({"path": "notes/"}, lambda p: p.startswith("notes/")),
        ({"language": "python"}, lambda p: p.endswith(".py")),
    ],
)
def test_filters_restrict_every_signal(searcher: Searcher, fields: dict[str, object], allowed: object) -> None:
    for signals in (("dense",), ("lexical",), ("graph",), ("dense", "lexical", "graph")):
        hits = searcher.search(parse_query(query="parse config server flags", signals=signals, k=20, **fields))
        assert all(allowed(hit.path) for hit in hits), (signals, [h.path for h in hits])  # type: ignore[operator]
    assert searcher.search(parse_query(query="parse config server flags", **fields))


def test_a_filter_that_matches_nothing_returns_nothing(searcher: Searcher) -> None:
    assert searcher.search(parse_query(query="config", path="nowhere/**")) == []


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "   ",
        "x" * 10_000,
        'NEAR("a" "b") AND OR NOT *',
        '"unbalanced quote',
        "text:config OR {text}: ^start",
        "'); DROP TABLE chunks; --",
        "über naïve 検索 🔍 العربية",
        "\x00\x01 control",
        "a" * 5000 + " config",
    ],
)
def test_hostile_queries_never_raise(searcher: Searcher, hostile: str) -> None:
    for signals in (("dense",), ("lexical",), ("graph",), ("dense", "lexical", "graph")):
        searcher.search(parse_query(query=hostile, signals=signals))
    assert searcher.store.query("SELECT COUNT(*) FROM chunks")[0][0] > 0


def test_an_empty_query_has_no_results(searcher: Searcher) -> None:
    assert searcher.search(parse_query(query="  ")) == []


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": 10_000}, "k"),
        ({"query": "x", "kind": "music"}, "kind"),
        ({"query": "x", "language": "py thon; drop"}, "language"),
        ({"query": "x" * 10_001}, "query"),
        ({"query": "x", "path": "\0"}, "path"),
        ({"query": "x", "signals": ("telepathy",)}, "signals"),
        ({"query": 42}, "query"),
    ],
)
def test_invalid_requests_name_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(QueryError, match=rf"\b{named}\b"):
        parse_query(**fields)


def test_fts_expression_quotes_every_term() -> None:
    assert fts_expression('find "hi" NEAR(x)') == '"find" OR "hi" OR "near" OR "x"'
    assert fts_expression("where is the config") == '"config"', "stop words are dropped"
    assert fts_expression("the of") == '"the" OR "of"', "unless the query holds nothing else"
    assert fts_expression("!!! ???") is None


def test_code_aware_terms() -> None:
    assert camel_parts("parseHTTPResponse") == ["parse", "http", "response"]
    assert expansions("startServer and read_lines") == ["start", "server"]
    assert query_terms("parseArgs flags") == ["parseargs", "flags", "parse", "args"]


def test_a_new_file_is_found_after_a_reindex_without_reopening(
    searcher: Searcher, fixture_root: Path, fp32: OnnxEmbedder, indexing_settings: IndexingSettings
) -> None:
    (fixture_root / "notes" / "zebra.md").write_text("# Zebras\n\nStriped animals graze on the savanna.\n")
    Indexer(open_workspace([fixture_root], indexing_settings), indexing_settings, fp32).run()
    assert top_paths(searcher, "animals with stripes", signals=("dense",))[0] == "notes/zebra.md"
    (fixture_root / "notes" / "zebra.md").unlink()
    Indexer(open_workspace([fixture_root], indexing_settings), indexing_settings, fp32).run()
    assert "notes/zebra.md" not in top_paths(searcher, "animals with stripes", signals=("dense",))


def test_a_large_index_keeps_the_rarest_terms_within_the_postings_budget(
    searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "_PRUNE_FROM_CHUNKS", 0)
    store = searcher.store
    total = int(store.query("SELECT COUNT(*) FROM chunks")[0][0])  # type: ignore[call-overload]
    frequency = {str(t): int(d) for t, d in store.query("SELECT term, doc FROM chunks_fts_vocab")}  # type: ignore[call-overload]
    common = max(frequency, key=frequency.__getitem__)
    rare = min(frequency, key=frequency.__getitem__)
    assert frequency[common] > lexical._POSTINGS_BUDGET * total - frequency[rare]
    assert lexical.informative_terms(store, [common, rare, "nosuchwordanywhere"]) == [rare]
    assert lexical.informative_terms(store, [common]) == [common], "one term is always kept"
    monkeypatch.setattr(lexical, "_PRUNE_FROM_CHUNKS", 10**9)
    assert lexical.informative_terms(store, [common, rare]) == [common, rare], "a small index keeps every term"
