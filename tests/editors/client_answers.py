"""Checks that every real-editor test makes of the same answers on the fixture workspace, whichever client
(Neovim, Emacs) asked."""

from __future__ import annotations

from typing import Any

CONFIG_LOADER = "src/config_loader.py"


def assert_symbol_at_definition(symbols: Any, uri: str, line: int, explain: str) -> None:
    """workspace/symbol by meaning: parse_config among the first five, located at its definition (1-based line)."""
    assert isinstance(symbols, list) and symbols, f"workspace/symbol answered {symbols!r}\n{explain}"
    names = [s["name"] for s in symbols[:5]]
    assert "parse_config" in names, names
    found = symbols[names.index("parse_config")]["location"]
    assert found["uri"] == uri, found
    assert found["range"]["start"]["line"] == line - 1, found


def assert_search_finds_the_loader(hits: Any, uri: str, explain: str) -> None:
    """localmind.search: the loader first, with a snippet and provenance."""
    assert isinstance(hits, list) and 1 <= len(hits) <= 3, f"localmind.search answered {hits!r}\n{explain}"
    assert hits[0]["path"] == CONFIG_LOADER, [h["path"] for h in hits]
    assert hits[0]["location"]["uri"] == uri, hits[0]["location"]
    assert hits[0]["snippet"] and hits[0]["provenance"], hits[0]
