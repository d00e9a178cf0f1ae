"""The Neovim plugin (clients/neovim) in a real editor: Debian's Neovim 0.7 headless loads it from the
runtimepath, calls setup() on a copy of the fixture workspace and runs its commands as a user would
(tests/editors/neovim_plugin_driver.lua); this test checks what the driver recorded. The test skips without
`nvim` only outside CI; in CI a missing Neovim is a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localmind.embeddings import OnnxEmbedder
from tests.editors.nvim_support import readable_log, unescape_markdown

HERE = Path(__file__).parent
DRIVER = HERE / "neovim_plugin_driver.lua"
PLUGIN = HERE.parent.parent / "clients" / "neovim"
FIXTURE_WORKSPACE = HERE.parent / "fixtures" / "workspace"
NVIM = shutil.which("nvim")
# The whole Neovim run; the driver's own waits below add up to less, so it can still report a timeout.
NVIM_TIMEOUT = 240
SEARCH_QUERY = "merge two configurations"
QUESTION = "how are configuration files parsed?"
FOLLOW_UP = "and where are they merged?"
CITED_PATH = "src/config_loader.py"
# 1-based lines of src/config_loader.py: parse_config and merge_configs are defined there.
PARSE_CONFIG_LINE = 12
MERGE_CONFIGS_LINE = 23
# A backslash before any ASCII punctuation character is a CommonMark escape; cards escape names such as parse\_config.
SOURCE_LINE = re.compile(r"^\[(\d+)\] (\S+):(\d+)$")

pytestmark = pytest.mark.skipif(
    NVIM is None and "CI" not in os.environ, reason="Neovim (nvim) is not installed; only CI requires it"
)


class PluginRun:
    """What the driver recorded, with what is needed to explain a failure."""

    def __init__(self, results: dict[str, Any], log: str, stderr: str) -> None:
        self.results = results
        self.log = log
        self.stderr = stderr

    def explain(self) -> str:
        return (
            f"results: {json.dumps(self.results, indent=2)[:8000]}\n"
            f"Neovim's stderr:\n{self.stderr[-3000:] or '  (empty)'}\n"
            f"Neovim's LSP log (the server's stderr is logged there):\n{self.log or '  (empty)'}"
        )


def run_driver(root: Path, outside: Path, model_cache: Path, tmp_path: Path) -> PluginRun:
    if NVIM is None:
        pytest.fail("CI is set but Neovim (nvim) is not installed: install it (apt-get install neovim)")
    home = tmp_path / "nvim-home"
    results_path = tmp_path / "results.json"
    spec_path = tmp_path / "spec.json"
    spec = {
        "python": sys.executable,
        "plugin": str(PLUGIN),
        "root": str(root),
        "note": str(root / "notes" / "architecture.md"),
        "second_file": str(root / "notes" / "design.md"),
        "related_file": str(root / "src" / "config_loader.py"),
        "outside_file": str(outside),
        "server_env": {
            "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(model_cache),
            "LOCALMIND_INDEXING__DATA_DIR": str(tmp_path / "server-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "server-config"),
        },
        "search_query": SEARCH_QUERY,
        "question": QUESTION,
        "follow_up": FOLLOW_UP,
        "cited_source": f"{CITED_PATH}:{PARSE_CONFIG_LINE}",
        "log_level": "WARN",
        "start_timeout_ms": 60_000,
        "index_timeout_ms": 100_000,
        "ask_timeout_ms": 60_000,
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
    command = [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", f"luafile {DRIVER}", "-c", "cquit 3"]
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
    return PluginRun(json.loads(results_path.read_text()), readable_log(log_path), finished.stderr)


def test_neovim_plugin_commands(embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path) -> None:
    """Requesting embedder builds the model into model_cache before the server starts."""
    root = (tmp_path / "ws").resolve()
    shutil.copytree(FIXTURE_WORKSPACE, root)
    (root / ".localmind").mkdir()
    outside = (tmp_path / "elsewhere" / "scratch.txt").resolve()
    outside.parent.mkdir()
    outside.write_text("not part of any workspace\n")
    run = run_driver(root, outside, model_cache, tmp_path)
    results = run.results
    why = run.explain
    config_loader = str(root / "src" / "config_loader.py")

    assert results["error"] is None, f"while {results['failed_step']}: {results['error']}\n{why()}"
    assert results["commands"] is True, why()

    # setup() attached one client for the root, to both files of it, and none outside any workspace.
    assert results["initialized"] is True, why()
    assert [f["uri"] for f in results["workspace_folders"]] == [root.as_uri()], why()
    assert results["same_client"] is True and results["client_count"] == 1, why()
    assert results["outside_attached"] == 0, why()
    assert results["keymaps"] == {"K": True, "gd": True} and results["outside_keymaps"] is False, why()

    # The statusline function followed indexing from its begin to its end.
    assert results["status_after_index"] == "LocalMind ready", why()
    assert results["progress"]["state"] == "ready" and results["progress"]["runs"] >= 1, why()
    assert "Indexed" in results["progress"]["last_message"], why()
    assert any(re.fullmatch(r"LocalMind \d+%", s) for s in results["statuses"]), results["statuses"]

    # :LocalMindSearch: the quickfix list, opened, with merge_configs first at its definition.
    search = results["search"]
    assert search["open"] is True, why()
    first = search["items"][0]
    assert first["filename"] == config_loader, search["items"]
    assert (first["lnum"], first["col"]) == (MERGE_CONFIGS_LINE, 1), first
    assert "merge_configs" in first["text"], first

    # The vim.ui.select picker offers the same hits and jumps to the one picked.
    picker = results["picker"]
    assert picker["offered"]["first"].startswith(f"{CITED_PATH}:{MERGE_CONFIGS_LINE} "), picker
    landed = (picker["buffer"], picker["lnum"], picker["quickfix_open"])
    assert landed == (config_loader, MERGE_CONFIGS_LINE, False), picker

    # :LocalMindRelated: other files, none of them the file itself.
    related = results["related"]["items"]
    assert related and all(item["filename"] != config_loader for item in related), why()

    # :LocalMindAsk: a window whose buffer filled as the answer streamed, then "[n] path:line" sources,
    # and the same sources in the quickfix list.
    ask = results["ask"]
    lines = ask["lines"]
    assert ask["answer_window"] is True and ask["deltas"] >= 1, why()
    first_answer_line = ask["text"].split("\n")[0]
    assert first_answer_line in ask["streaming"], ask["streaming"]
    assert lines[0] == f"# {QUESTION}", lines
    sources_start = ask["sources_start"]
    assert isinstance(sources_start, int) and lines[sources_start - 1] == "## Sources", lines
    assert lines[2 : sources_start - 2] == ask["text"].split("\n"), lines
    assert ask["text"].strip() and re.search(r"\[\d+\]", ask["text"]), lines
    sources = [SOURCE_LINE.match(line) for line in lines[sources_start:]]
    assert sources and all(sources), lines[sources_start:]
    cited = {int(m.group(1)): (m.group(2), int(m.group(3))) for m in sources if m}
    assert sorted(cited) == list(range(1, len(cited) + 1)), cited
    assert (CITED_PATH, PARSE_CONFIG_LINE) in cited.values(), cited
    assert ask["conversation_id"], why()
    quickfix = [(item["filename"], item["lnum"]) for item in ask["quickfix"]["items"]]
    assert quickfix == [(str(root / path), line) for path, line in cited.values()], ask["quickfix"]

    # <CR> on the source line of parse_config, then on its [n] in the answer: both open its definition.
    n = next(n for n, place in cited.items() if place == (CITED_PATH, PARSE_CONFIG_LINE))
    for name, expected_from in (
        ("follow_source", f"[{n}] {CITED_PATH}:{PARSE_CONFIG_LINE}"),
        ("follow_citation", f"[{n}]"),
    ):
        jumped = results[name]
        assert jumped is not None, f"{name} was not recorded\n{why()}"
        assert expected_from in jumped["from_line"], jumped
        assert (jumped["buffer"], jumped["lnum"]) == (config_loader, PARSE_CONFIG_LINE), jumped
        assert jumped["line"].startswith("def parse_config("), jumped

    # :LocalMindAsk! follows up in the same conversation.
    follow_up = results["follow_up"]
    assert follow_up["first_line"] == f"# {FOLLOW_UP}" and follow_up["sources"] >= 1, follow_up
    assert follow_up["conversation_id"] == ask["conversation_id"], follow_up

    # Hover on parse_config in the note: the knowledge card that points at its definition.
    hover = results["hover"]
    assert hover["error"] is None and isinstance(hover["result"], dict), why()
    card = unescape_markdown(hover["result"]["contents"]["value"])
    assert f"{CITED_PATH}:{PARSE_CONFIG_LINE}" in card, card

    # :LocalMindReindex ran a second indexing pass; :LocalMindStatus showed the index in a floating window.
    assert results["reindex_runs"] >= 2, why()
    status = "\n".join(results["status_window"])
    assert "# Local Mind" in status and re.search(r"index: \d+ files, \d+ chunks", status), status

    # :checkhealth localmind ran every check without an error.
    health = "\n".join(results["checkhealth"])
    assert "localmind" in health and "Failed to run healthcheck" not in health, health
    assert "ERROR" not in health, health
    for expected in ("version: localmind", "model: all-MiniLM-L6-v2 (int8) is built", "backend embedder"):
        assert expected in health, health

    # No error reached the user, and stopping the server was clean.
    errors = [n for n in results["notifications"] if n["level"] == 4]
    assert not errors, errors
    assert results["final_status"] == "stopped" and results["exit_code"] == 0, why()
    assert "Error" not in run.stderr and "E5108" not in run.stderr, run.stderr
