"""Running Emacs's eglot against `localmind serve` for tests/editors/test_emacs.py: one batch Emacs session
per call (tests/editors/emacs_eglot_client.el), its recorded answers, and a generated workspace large enough
that its first index takes a while."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
CLIENT_SCRIPT = HERE / "emacs_eglot_client.el"
EMACS = shutil.which("emacs")
# Where Debian's elpa packages live: elpa-eglot (Emacs 28 has no LSP client of its own) and elpa-markdown-mode.
ELPA_DIR = Path("/usr/share/emacs/site-lisp/elpa")
# The whole Emacs run; the script's own waits (test_emacs.py's and these) add up to less, so it can still
# report a timeout.
EMACS_TIMEOUT = 400
TIMEOUTS_MS = {"start_timeout_ms": 60_000, "request_timeout_ms": 20_000, "stop_timeout_ms": 15_000}


def installed(*packages: str) -> bool:
    """Whether Emacs and these elpa packages (folder names without their version) are installed."""
    return EMACS is not None and all(any(ELPA_DIR.glob(f"{package}-*")) for package in packages)


def skip_outside_ci_without(*packages: str) -> pytest.MarkDecorator:
    """Skip without Emacs and these packages only outside CI; in CI a missing editor is a failure (run_emacs)."""
    return pytest.mark.skipif(
        not installed(*packages) and "CI" not in os.environ,
        reason=f"Emacs with {', '.join(packages)} is not installed (scripts/install-system.sh); only CI requires it",
    )


class EmacsRun:
    """One batch Emacs session's results, with what is needed to explain a failure."""

    def __init__(self, results: dict[str, Any], events: str, stderr: str) -> None:
        self.results = results
        self.events = events
        self.stderr = stderr

    def step(self, name: str) -> dict[str, Any]:
        """A step that ran and got an answer (an error answer fails the test, with the whole record)."""
        recorded: dict[str, Any] | None = (self.results.get("steps") or {}).get(name)
        assert recorded is not None, f"the script recorded no {name!r} step\n{self.explain()}"
        assert recorded["error"] is None, f"{recorded['method']} failed: {recorded['error']}\n{self.explain()}"
        return recorded

    def shown(self, prefix: str) -> list[dict[str, Any]]:
        """The window/showMessage notifications that start with prefix, in the order they arrived."""
        return [m for m in self.messages() if m["kind"] == "show" and m["message"].startswith(prefix)]

    def messages(self) -> list[dict[str, Any]]:
        return list(self.results.get("messages") or [])

    def explain(self) -> str:
        messages = "\n".join(f"  #{m['seq']} [{m['kind']} {m['type']}] {m['message']}" for m in self.messages())
        return (
            f"results: {json.dumps(self.results, indent=2)[:8000]}\n"
            f"server messages:\n{messages or '  (none)'}\n"
            f"the server's stderr:\n{self.stderr or '  (empty)'}\n"
            f"eglot's events buffer (the end of it):\n{self.events or '  (empty)'}"
        )


@dataclass(frozen=True)
class ServerPlaces:
    """Where the server keeps its model, its index and its settings during one test."""

    model_cache: Path
    data_dir: Path
    config_home: Path


def run_emacs(
    root: Path, opened: Path, steps: list[dict[str, Any]], places: ServerPlaces, tmp_path: Path, markdown: bool
) -> EmacsRun:
    """Run the driver in batch Emacs on `root` with `opened` visited first; `markdown` loads markdown-mode,
    with which eglot asks for Markdown hovers."""
    packages = ("eglot", "markdown-mode") if markdown else ("eglot",)
    if EMACS is None or not installed(*packages):
        pytest.fail(f"Emacs with {', '.join(packages)} is not installed: run scripts/install-system.sh")
    run_dir = tmp_path / ("emacs-markdown" if markdown else "emacs-plaintext")
    run_dir.mkdir()
    (run_dir / "home").mkdir()
    results_path, events_path, stderr_path = run_dir / "results.json", run_dir / "events.log", run_dir / "stderr.log"
    spec = {
        "command": [sys.executable, "-m", "localmind", "serve"],
        "root": str(root),
        "open": str(opened),
        "markdown": markdown,
        "steps": steps,
        "events_path": str(events_path),
        "stderr_path": str(stderr_path),
        **TIMEOUTS_MS,
    }
    spec_path = run_dir / "spec.json"
    spec_path.write_text(json.dumps(spec))
    try:
        finished = subprocess.run(
            [EMACS, "--batch", "-l", str(CLIENT_SCRIPT)],
            cwd=root,
            env=emacs_env(run_dir, spec_path, results_path, places),
            capture_output=True,
            text=True,
            timeout=EMACS_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"Emacs ran for more than {EMACS_TIMEOUT} s\n{exc.stderr!r}\n{tail(events_path)}")
    if not results_path.exists():
        pytest.fail(
            f"Emacs exited with {finished.returncode} and wrote no results\n"
            f"stdout: {finished.stdout}\nstderr: {finished.stderr}\n{tail(events_path)}"
        )
    return EmacsRun(json.loads(results_path.read_text()), tail(events_path), tail(stderr_path))


def emacs_env(run_dir: Path, spec_path: Path, results_path: Path, places: ServerPlaces) -> dict[str, str]:
    """Emacs's own home and folders in run_dir; the server, its child, inherits the LOCALMIND_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    env.update(
        EMACS_LOCALMIND_SPEC=str(spec_path),
        EMACS_LOCALMIND_RESULTS=str(results_path),
        HOME=str(run_dir / "home"),
        XDG_CACHE_HOME=str(run_dir / "cache"),
        XDG_DATA_HOME=str(run_dir / "data"),
        XDG_STATE_HOME=str(run_dir / "state"),
        XDG_CONFIG_HOME=str(places.config_home),
        LOCALMIND_EMBEDDINGS__CACHE_DIR=str(places.model_cache),
        LOCALMIND_INDEXING__DATA_DIR=str(places.data_dir),
    )
    return env


def tail(path: Path, chars: int = 20_000) -> str:
    if not path.exists():
        return ""
    return path.read_text(errors="replace")[-chars:]


# A generated workspace ----------------------------------------------------------------------------------

VERBS = ["compute", "validate", "merge", "render", "load", "store", "reconcile", "schedule", "notify", "archive"]
NOUNS = ["invoice", "shipment", "ledger", "customer", "report", "session", "inventory", "payment", "token", "order"]
STATES = ["pending", "overdue", "partial", "archived", "verified", "draft", "recurring", "failed"]


def function_words(module: int, index: int) -> tuple[str, str, str]:
    """What the index-th function of a generated module does: a verb, a state and a noun."""
    verb, noun = VERBS[(module + index) % len(VERBS)], NOUNS[(module * 3 + index) % len(NOUNS)]
    return verb, STATES[(module + 2 * index) % len(STATES)], noun


def function_name(module: int, index: int) -> str:
    """The name of the index-th function of a generated module, unique in the workspace."""
    return "_".join([*function_words(module, index), str(module), str(index)])


def module_path(module: int) -> str:
    return f"src/pkg_{module // 20:02d}/module_{module:03d}.py"


def python_module(module: int, functions: int) -> str:
    """A module of small functions, each with a docstring that says what it does in words."""
    lines = [f'"""Helpers for {NOUNS[module % len(NOUNS)]} records, batch {module}."""', "", ""]
    for index in range(functions):
        verb, state, noun = function_words(module, index)
        lines += [
            f"def {function_name(module, index)}(records: list[dict[str, str]], limit: int = {10 + index}) -> "
            "list[str]:",
            f'    """{verb.capitalize()} the {state} {noun} records of batch {module} and say which were kept."""',
            "    kept = []",
            "    for record in records[:limit]:",
            f'        if record.get("state") == "{state}":',
            f'            kept.append(record["{noun}_id"])',
            "    return kept",
            "",
            "",
        ]
    return "\n".join(lines)


def note(number: int, notes: int) -> str:
    """A note with two sections and a wiki link to the next note."""
    noun, verb, state = NOUNS[number % len(NOUNS)], VERBS[number % len(VERBS)], STATES[number % len(STATES)]
    return "\n".join(
        [
            f"# {noun.capitalize()} notes {number}",
            "",
            f"How the {verb} step treats {state} {noun} records, and what to check before a release.",
            "",
            f"## Why {state} records matter",
            "",
            f"A {state} {noun} blocks the {verb} run until someone looks at it. See [[note_{(number + 1) % notes}]].",
            "",
            "## Checklist",
            "",
            f"- {verb} every {noun} twice",
            f"- keep the ledger in sync with batch {number}",
            "",
        ]
    )


def generate_workspace(root: Path, modules: int, functions: int, notes: int) -> None:
    for module in range(modules):
        path = root / module_path(module)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(python_module(module, functions), encoding="utf-8")
    (root / "notes").mkdir(parents=True, exist_ok=True)
    for number in range(notes):
        (root / "notes" / f"note_{number}.md").write_text(note(number, notes), encoding="utf-8")
