"""A real editor as the client: Debian's Neovim 0.7 headless runs `localmind serve` through its built-in LSP
client on a copy of the fixture workspace (tests/editors/neovim_client.lua), and this test checks the answers
it recorded. The test skips without `nvim` only outside CI; in CI a missing Neovim is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localmind.embeddings import OnnxEmbedder
from tests.editors.client_answers import assert_search_finds_the_loader, assert_symbol_at_definition
from tests.editors.nvim_support import readable_log, unescape_markdown

HERE = Path(__file__).parent
CLIENT_SCRIPT = HERE / "neovim_client.lua"
FIXTURE_WORKSPACE = HERE.parent / "fixtures" / "workspace"
NVIM = shutil.which("nvim")
# The whole Neovim run; the script's own waits below add up to less, so it can still report a timeout.
NVIM_TIMEOUT = 240
SYMBOL_QUERY = "read key value pairs from a file"
SEARCH_QUERY = "merge two configurations"
# Line 12 (1-based) of src/config_loader.py defines parse_config.
DEFINITION_LINE = 12
# A backslash before any ASCII punctuation character is a CommonMark escape; cards escape names such as parse\_config.

pytestmark = pytest.mark.skipif(
    NVIM is None and "CI" not in os.environ, reason="Neovim (nvim) is not installed; only CI requires it"
)


class NeovimRun:
    """One headless Neovim session's results, with what is needed to explain a failure."""

    def __init__(self, results: dict[str, Any], log: str) -> None:
        self.results = results
        self.log = log

    def step(self, name: str) -> dict[str, Any]:
        steps = self.results.get("steps") or {}
        recorded = steps.get(name)
        assert recorded is not None, f"the script recorded no {name!r} step\n{self.explain()}"
        assert recorded["error"] is None, f"{recorded['method']} failed: {recorded['error']}\n{self.explain()}"
        return recorded

    def explain(self) -> str:
        messages = "\n".join(f"  [{m['kind']} {m['type']}] {m['message']}" for m in self.results.get("messages") or [])
        return (
            f"results: {json.dumps(self.results, indent=2)[:6000]}\n"
            f"server messages:\n{messages or '  (none)'}\n"
            f"Neovim's LSP log (the server's stderr is logged there):\n{self.log or '  (empty)'}"
        )


def run_neovim(root: Path, model_cache: Path, tmp_path: Path) -> NeovimRun:
    if NVIM is None:
        pytest.fail("CI is set but Neovim (nvim) is not installed: install it (apt-get install neovim)")
    home = tmp_path / "nvim-home"
    results_path = tmp_path / "results.json"
    spec_path = tmp_path / "spec.json"
    spec = {
        "python": sys.executable,
        "root": str(root),
        "note": str(root / "notes" / "architecture.md"),
        "server_env": {
            "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(model_cache),
            "LOCALMIND_INDEXING__DATA_DIR": str(tmp_path / "server-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "server-config"),
        },
        "symbol_query": SYMBOL_QUERY,
        "search_query": SEARCH_QUERY,
        "log_level": "WARN",
        "start_timeout_ms": 60_000,
        "index_timeout_ms": 100_000,
        "request_timeout_ms": 15_000,
        "stop_timeout_ms": 10_000,
    }
    spec_path.write_text(json.dumps(spec))
    # Neovim's own folders (its lsp.log included) live in tmp_path; the server's variables go through cmd_env.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    env.update(
        NVIM_LOCALMIND_SPEC=str(spec_path),
        NVIM_LOCALMIND_RESULTS=str(results_path),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
    )
    command = [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", f"luafile {CLIENT_SCRIPT}"]
    # Should the script fail to load at all, this second command ends Neovim instead of leaving it waiting.
    command += ["-c", "cquit 3"]
    log_path = home / "cache" / "nvim" / "lsp.log"
    try:
        finished = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=NVIM_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"Neovim ran for more than {NVIM_TIMEOUT} s\n{exc.stderr!r}\n{readable_log(log_path)}")
    if not results_path.exists():
        pytest.fail(
            f"Neovim exited with {finished.returncode} and wrote no results\n"
            f"stdout: {finished.stdout}\nstderr: {finished.stderr}\n{readable_log(log_path)}"
        )
    results = json.loads(results_path.read_text())
    return NeovimRun(results, readable_log(log_path))


def test_neovim_drives_the_language_server(embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path) -> None:
    """Requesting embedder builds the model into model_cache before the server starts."""
    root = (tmp_path / "ws").resolve()
    shutil.copytree(FIXTURE_WORKSPACE, root)
    run = run_neovim(root, model_cache, tmp_path)
    results = run.results
    config_loader = (root / "src" / "config_loader.py").as_uri()

    assert results["error"] is None, f"while {results['failed_step']}: {results['error']}\n{run.explain()}"
    assert results["initialized"] is True, run.explain()

    # Indexing reported work-done progress from begin to end under one localmind-index-* token.
    ends = [p for p in results["progress"] if p["kind"] == "end" and str(p["token"]).startswith("localmind-index-")]
    assert ends, run.explain()
    token_kinds = [p["kind"] for p in results["progress"] if p["token"] == ends[0]["token"]]
    assert token_kinds[0] == "begin" and token_kinds[-1] == "end", token_kinds
    assert "Indexed" in (ends[0]["message"] or ""), ends[0]

    # Hover on parse_config in the note: a Markdown card that points at the definition.
    hover = run.step("hover")["result"]
    assert isinstance(hover, dict), f"hover answered {hover!r}\n{run.explain()}"
    contents = hover["contents"]
    assert isinstance(contents, dict) and contents.get("kind") == "markdown", contents
    card = contents["value"]
    assert f"src/config_loader.py:{DEFINITION_LINE}" in unescape_markdown(card), card
    assert f"({config_loader}#L{DEFINITION_LINE})" in card, card

    assert_symbol_at_definition(run.step("workspace_symbol")["result"], config_loader, DEFINITION_LINE, run.explain())
    # localmind.search through workspace/executeCommand.
    assert_search_finds_the_loader(run.step("search")["result"], config_loader, run.explain())

    # client.stop() sent shutdown and exit, and the server left on its own with status 0.
    assert results["exit"] == {"code": 0, "signal": 0}, f"server exit: {results['exit']}\n{run.explain()}"
