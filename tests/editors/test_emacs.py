"""A real editor as the client: Debian's Emacs 28 with eglot 1.9, in batch mode, runs `localmind serve` on a
copy of the fixture workspace and on a generated one (tests/editors/emacs_eglot_client.el), and these tests
check the answers it recorded. Without markdown-mode eglot asks for plain-text hovers; with it, Markdown.
eglot declares no work-done progress, so the server tells it of the first index in window/showMessage.
The tests skip without Emacs and eglot only outside CI; in CI a missing editor is a failure."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from localmind.embeddings import OnnxEmbedder
from tests.editors.client_answers import assert_search_finds_the_loader, assert_symbol_at_definition
from tests.editors.emacs_support import (
    EmacsRun,
    ServerPlaces,
    function_name,
    generate_workspace,
    module_path,
    run_emacs,
    skip_outside_ci_without,
)
from tests.editors.nvim_support import unescape_markdown

FIXTURE_WORKSPACE = Path(__file__).parent.parent / "fixtures" / "workspace"
NOTE = "notes/architecture.md"
SYMBOL_QUERY = "read key value pairs from a file"
SEARCH_QUERY = "merge two configurations"
# Line 12 (1-based) of src/config_loader.py defines parse_config.
DEFINITION_LINE = 12
# How long the script waits for the fixture's index, for every file of the generated workspace to be
# searchable by words (phase 1), and for its first index to end (under a minute on an idle 2-core machine).
FIXTURE_INDEX_TIMEOUT_MS, SEARCHABLE_TIMEOUT_MS, INDEXED_TIMEOUT_MS = 60_000, 60_000, 180_000
SEARCHABLE = "Local Mind: every file is searchable by words and links"
INDEXED = "Local Mind: Indexed"
# LSP's MessageType.
ERROR, WARNING = 1, 2
# A card's line that cites a place and quotes it: "- src/x.py:12 — def x(…".
CITED_LINE = re.compile(r"^- (?P<path>\S+):(?P<line>\d+) — (?P<quote>.+)$", re.MULTILINE)
# The generated workspace: 450 functions and 50 notes, about 600 chunks to embed in phase 2.
MODULES, FUNCTIONS, NOTES = 90, 5, 50
HOVERED_MODULE, HOVERED_FUNCTION = 57, 3

pytestmark = skip_outside_ci_without("eglot")


def fixture_copy(tmp_path: Path) -> Path:
    root = (tmp_path / "ws").resolve()
    shutil.copytree(FIXTURE_WORKSPACE, root)
    return root


def places(model_cache: Path, tmp_path: Path) -> ServerPlaces:
    return ServerPlaces(model_cache, tmp_path / "server-data", tmp_path / "server-config")


def after_the_first_index(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "first index", "action": "wait_index", "runs": 1, "timeout_ms": FIXTURE_INDEX_TIMEOUT_MS}, *steps]


def hover_on(path: Path, needle: str) -> dict[str, Any]:
    return {"name": "hover", "action": "hover", "file": str(path), "needle": needle, "offset": 1}


def workspace_symbol(query: str) -> dict[str, Any]:
    return {"name": "workspace_symbol", "action": "request", "method": "workspace/symbol", "params": {"query": query}}


def search(query: str, k: int) -> dict[str, Any]:
    arguments = [{"query": query, "k": k}]
    return {"name": "search", "action": "command", "command": "localmind.search", "arguments": arguments}


def assert_clean_session(run: EmacsRun) -> None:
    """The script ran to its end, the server told nothing twice and warned of nothing, and it shut down."""
    results = run.results
    assert results["error"] is None, f"while {results['failed_step']}: {results['error']}\n{run.explain()}"
    assert results["initialized"] is True, run.explain()
    shown = [m["message"] for m in run.messages() if m["kind"] == "show"]
    assert len(shown) == len(set(shown)), f"a message was shown twice: {shown}\n{run.explain()}"
    # A warning shown to the user, or an error even in the log, means something went wrong.
    troubles = [m for m in run.messages() if m["type"] == ERROR or (m["kind"] == "show" and m["type"] == WARNING)]
    assert not troubles, f"the server warned or failed: {troubles}\n{run.explain()}"
    shutdown = results["shutdown"]
    assert shutdown is not None and shutdown["error"] is None, f"shutdown: {shutdown}\n{run.explain()}"


def hover_text(run: EmacsRun, kind: str) -> str:
    hover = run.step("hover")["result"]
    assert isinstance(hover, dict), f"hover answered {hover!r}\n{run.explain()}"
    contents = hover["contents"]
    assert isinstance(contents, dict) and contents.get("kind") == kind, f"{contents}\n{run.explain()}"
    text = contents["value"]
    assert isinstance(text, str)
    return text


def assert_quotes_are_faithful(card: str, root: Path) -> None:
    """Every Python place the plain card quotes reads as the card says, brackets and all."""
    cited = [m for m in CITED_LINE.finditer(card) if m["path"].endswith(".py")]
    assert cited, card
    for match in cited:
        lines = (root / match["path"]).read_text(encoding="utf-8").splitlines()[int(match["line"]) - 1 :]
        source = " ".join(" ".join(lines).split())
        quote = " ".join(match["quote"].rstrip("…").split())[:40]
        assert quote in source, f"{match['path']}:{match['line']} does not read {quote!r}\n{card}"


def test_eglot_gets_plain_text_symbols_search_and_wiki_links(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path
) -> None:
    """Requesting embedder builds the model into model_cache before the server starts."""
    root = fixture_copy(tmp_path)
    note = root / NOTE
    steps = after_the_first_index(
        hover_on(note, "parse_config"),
        workspace_symbol(SYMBOL_QUERY),
        search(SEARCH_QUERY, 3),
        {"name": "definition", "action": "definition", "file": str(note), "needle": "[[design]]", "offset": 3},
        {"name": "xref", "action": "xref_definition", "file": str(note), "needle": "[[design]]", "offset": 3},
    )
    run = run_emacs(root, note, steps, places(model_cache, tmp_path), tmp_path, markdown=False)
    assert_clean_session(run)
    config_loader = (root / "src" / "config_loader.py").as_uri()

    # Without markdown-mode eglot asks for plain text, and gets the card without any Markdown.
    assert run.results["hover_formats"] == ["plaintext"], run.explain()
    card = hover_text(run, "plaintext")
    assert card.startswith("parse_config"), card
    assert f"src/config_loader.py:{DEFINITION_LINE}" in card, card
    for markup in ("**", "\\", "[[", "](", "`"):
        assert markup not in card, f"{markup!r} in the plain-text card:\n{card}"
    assert_quotes_are_faithful(card, root)

    assert_symbol_at_definition(run.step("workspace_symbol")["result"], config_loader, DEFINITION_LINE, run.explain())
    # localmind.search through eglot-execute-command.
    assert_search_finds_the_loader(run.step("search")["result"], config_loader, run.explain())

    # The wiki link [[design]] leads to notes/design.md, as a location and through eglot's own xref (M-.).
    design = root / "notes" / "design.md"
    [target] = run.step("definition")["result"]
    assert target["uri"] == design.as_uri(), target
    assert target["range"]["start"]["line"] == 0, target
    assert run.step("xref")["result"] == [{"file": str(design), "line": 1}], run.explain()


@skip_outside_ci_without("eglot", "markdown-mode")
def test_eglot_with_markdown_mode_gets_a_markdown_card(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path
) -> None:
    root = fixture_copy(tmp_path)
    note = root / NOTE
    steps = after_the_first_index(hover_on(note, "parse_config"))
    run = run_emacs(root, note, steps, places(model_cache, tmp_path), tmp_path, markdown=True)
    assert_clean_session(run)

    assert run.results["hover_formats"][0] == "markdown", run.explain()
    card = hover_text(run, "markdown")
    assert card.startswith("**parse\\_config**"), card
    config_loader = (root / "src" / "config_loader.py").as_uri()
    assert f"[src/config\\_loader.py:{DEFINITION_LINE}]({config_loader}#L{DEFINITION_LINE})" in card, card
    assert f"src/config_loader.py:{DEFINITION_LINE}" in unescape_markdown(card), card


def test_eglot_hover_and_search_answer_during_the_first_index(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path
) -> None:
    """Hover and search sent as soon as every file is searchable by words, while phase 2 embeds: both answer
    from what is indexed. The order is proven from what the server said, never from timing: the status
    answered after both says indexing runs its first pass, and the end of that pass is told after it."""
    root = (tmp_path / "large").resolve()
    generate_workspace(root, MODULES, FUNCTIONS, NOTES)
    hovered = root / module_path(HOVERED_MODULE)
    name = function_name(HOVERED_MODULE, HOVERED_FUNCTION)
    steps = [
        {"name": "searchable", "action": "wait_message", "prefix": SEARCHABLE, "timeout_ms": SEARCHABLE_TIMEOUT_MS},
        hover_on(hovered, f"def {name}") | {"offset": len("def ") + 1},
        search(name.replace("_", " "), 5),
        {"name": "status", "action": "command", "command": "localmind.status"},
        {"name": "indexed", "action": "wait_message", "prefix": INDEXED, "timeout_ms": INDEXED_TIMEOUT_MS},
    ]
    run = run_emacs(root, hovered, steps, places(model_cache, tmp_path), tmp_path, markdown=False)
    assert_clean_session(run)

    # The hover names the function and where it is defined; search finds its module first.
    card = hover_text(run, "plaintext")
    lines = hovered.read_text(encoding="utf-8").splitlines()
    line = 1 + next(number for number, text in enumerate(lines) if text.startswith(f"def {name}("))
    assert card.startswith(name), card
    assert f"{module_path(HOVERED_MODULE)}:{line}" in card, card
    hits = run.step("search")["result"]
    assert isinstance(hits, list) and hits, f"localmind.search answered {hits!r}\n{run.explain()}"
    assert hits[0]["path"] == module_path(HOVERED_MODULE), [h["path"] for h in hits]

    # Both were answered during the first pass's phase 2: the status answered after them says so ...
    status = run.step("status")["result"]["indexing"]
    assert status["running"] is True and status["runs"] == 0, f"{status}\n{run.explain()}"
    assert status["phase"] == "embedding" and status["embedded"] < status["to_embed"], status
    # ... and the server said every file was searchable before the hover, and that it was done after them.
    [searchable], [indexed] = run.shown(SEARCHABLE), run.shown(INDEXED)
    assert searchable["seq"] <= run.step("hover")["sent_seq"], run.explain()
    assert run.step("status")["answered_seq"] < indexed["seq"], run.explain()
    assert f"Indexed {MODULES + NOTES} files" in indexed["message"], indexed
