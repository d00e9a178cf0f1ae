"""What the VS Code end-to-end test needs around it: the extension's .vsix, code-server (installed and cached
by scripts/install-code-server.sh), a code-server process in a session of its own with throwaway folders,
and its logs for failure messages."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "clients" / "vscode"
VSIX_NAME = "localmind-0.1.0.vsix"
CODE_SERVER_VERSION = "4.100.3"
# What the user settings of the throwaway profile switch off: welcome pages, tips, trust prompts, updates.
QUIET_USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.commandCenter.enabled": False,
    "security.workspace.trust.enabled": False,
    "extensions.ignoreRecommendations": True,
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "files.hotExit": "off",
    "window.restoreWindows": "none",
    "editor.hover.delay": 300,
    "editor.minimap.enabled": False,
    "workbench.colorTheme": "Default Dark Modern",
}


def run(command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run a command; raise with its output when it fails."""
    finished = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if finished.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {finished.returncode}\n"
            f"stdout:\n{finished.stdout[-4000:]}\nstderr:\n{finished.stderr[-4000:]}"
        )
    return finished.stdout


def ensure_built() -> Path:
    """The .vsix made by `npm run package`, and the compiled test drivers; built here when missing."""
    vsix = EXTENSION / VSIX_NAME
    drivers = [EXTENSION / "out" / "e2e" / "run.js", EXTENSION / "out" / "test" / "index.js"]
    if vsix.exists() and all(path.exists() for path in drivers):
        return vsix
    if not (REPO / "node_modules").exists():
        run(["npm", "ci", "--no-audit", "--no-fund"], REPO, 600)
    run(["npm", "run", "package"], REPO, 600)
    return vsix


def install_code_server() -> Path:
    """The code-server program, installed once into the user cache by scripts/install-code-server.sh."""
    output = run(["bash", str(REPO / "scripts" / "install-code-server.sh")], REPO, 900)
    program = Path(output.strip().splitlines()[-1])
    if not program.exists():
        raise RuntimeError(f"install-code-server.sh named {program}, which does not exist")
    return program


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CodeServerHome:
    """The throwaway folders of one code-server run."""

    root: Path
    # Each phase of the test opens a workbench with state of its own (editors, panels, storage).
    profile: str = "journey"

    @property
    def user_data(self) -> Path:
        return self.root / f"user-data-{self.profile}"

    @property
    def extensions(self) -> Path:
        return self.root / "extensions"

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
        for name in ("config", "data", "cache", "state", "tmp"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        env.update(
            XDG_CONFIG_HOME=str(self.root / "config"),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            XDG_STATE_HOME=str(self.root / "state"),
            TMPDIR=str(self.root / "tmp"),
        )
        env.update(extra)
        return env

    def write_user_settings(self, extra: dict[str, Any] | None = None) -> None:
        settings = self.user_data / "User" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({**QUIET_USER_SETTINGS, **(extra or {})}, indent=2))

    def installed_extension(self) -> Path:
        """The folder code-server unpacked the .vsix into."""
        found = sorted(self.extensions.glob("localmind.localmind-*"))
        if not found:
            raise RuntimeError(f"no localmind.localmind-* in {self.extensions}: {list(self.extensions.iterdir())}")
        return found[0]

    def logs(self, chars: int = 12000) -> str:
        """The extension's output channel, the extension host's log and code-server's own, newest last."""
        parts = []
        for name in ("*Local Mind*.log", "exthost*.log", "remoteagent.log"):
            for path in sorted(self.root.glob(f"user-data-*/logs/**/{name}"))[-3:]:
                text = path.read_text(errors="replace")
                parts.append(f"--- {path.relative_to(self.root)}\n{text[-chars:]}")
        return "\n".join(parts) or "(no logs)"


class CodeServer:
    """A code-server process in a session of its own, so that the whole group can be killed at the end."""

    def __init__(
        self, program: Path, home: CodeServerHome, folder: Path, env: dict[str, str], trust: bool = False
    ) -> None:
        """With `trust`, workspace trust is on (VS Code's Restricted Mode for a folder not trusted yet)."""
        self.program = program
        self.home = home
        self.folder = folder
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = home.root / "code-server.log"
        command = [
            str(program),
            "--bind-addr",
            f"127.0.0.1:{self.port}",
            "--auth",
            "none",
            "--disable-telemetry",
            "--disable-update-check",
            *([] if trust else ["--disable-workspace-trust"]),
            "--disable-getting-started-override",
            "--user-data-dir",
            str(home.user_data),
            "--extensions-dir",
            str(home.extensions),
            str(folder),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"code-server exited with {self.process.returncode}:\n{self.log()}")
            health = f"{self.base_url}/healthz"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.25)
        raise TimeoutError(f"code-server did not answer /healthz within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-6000:]
        return ""

    def stop(self) -> None:
        """Kill the whole process group: code-server, its extension hosts and the language servers."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
                if sig == signal.SIGTERM:
                    time.sleep(0.5)


@contextlib.contextmanager
def code_server(
    program: Path, home: CodeServerHome, folder: Path, env: dict[str, str], trust: bool = False
) -> Iterator[CodeServer]:
    server = CodeServer(program, home, folder, env, trust)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


# The name each committed screenshot has under docs/images, by the driver's name for it.
DOCS_IMAGE_NAMES = {
    "search.png": "vscode-search.png",
    "hover.png": "vscode-hover.png",
    "chat.png": "vscode-chat.png",
    "note.png": "vscode-note.png",
    "restricted-status.png": "vscode-restricted-mode.png",
}


def copy_screenshots(source: Path, target: Path, names: list[str]) -> list[Path]:
    """Copy the named screenshots of the run into docs/images (only when asked: they are committed).
    Screenshots without a docs name (the LLM's answer, failures) stay with the artefacts."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in names:
        if name in DOCS_IMAGE_NAMES:
            destination = target / DOCS_IMAGE_NAMES[name]
            shutil.copyfile(source / name, destination)
            copied.append(destination)
    return copied
