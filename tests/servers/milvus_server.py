"""A real Milvus standalone server for the tests, from the PyPI `milvus` package (2.3.5).

`MilvusServerProcess` starts one in a temporary folder, on free ports (every port it opens: the proxy,
the coordinators and nodes, the metrics port and the embedded etcd's client and peer ports), waits
until a client's `list_collections()` answers, and stops it.

Nothing may outlive the tests. The server runs under a small runner (this file, run as a script) that
starts a session of its own, so one `killpg` ends the runner and the server together. The runner stops
the server as soon as its parent (the test process) is gone, even when that one was killed, and the
kernel kills the server if the runner itself dies (PR_SET_PDEATHSIG). `stop()` asks the runner first
and then kills the whole process group.

The server listens on all interfaces (Milvus 2.3 has no bind address), the embedded etcd on 127.0.0.1
only. Its binaries are unpacked once into a cache folder, shared by later runs, instead of into every
temporary folder (that took about 4 s).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

_PORT_SUFFIX = "_port"
_STOP_GRACE_S = 15.0
_POLL_S = 0.5
# The proxy's time tick, which Strong reads wait for: 200 ms by default (a Strong search took 200 ms), 20 ms
# here (39 ms, for about 7 % of a core while idle instead of 2 %), since the tests read what they just wrote.
DEFAULT_TIME_TICK_MS = 20


class MilvusServerProcess:
    """One Milvus standalone server in a temporary folder; `start()`, then `uri`, then `stop()`."""

    def __init__(self, time_tick_ms: int = DEFAULT_TIME_TICK_MS) -> None:
        self.time_tick_ms = time_tick_ms
        self.uri = ""
        self.base_dir: Path | None = None
        self._runner: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        """Start the server and return once it answers; raise with the runner's log if it does not."""
        deadline = time.monotonic() + timeout
        self.base_dir = Path(tempfile.mkdtemp(prefix="localmind-milvus-"))
        _link_cached_binaries(self.base_dir)
        atexit.register(self.stop)
        try:
            self._runner = self._spawn_runner(self.base_dir)
            port = self._wait_until_ready(deadline)
            self.uri = f"http://127.0.0.1:{port}"
            _wait_until_answering(self.uri, deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and its runner (the whole process group), then remove the folder."""
        runner, self._runner = self._runner, None
        if runner is not None:
            _end_process_group(runner)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        atexit.unregister(self.stop)

    def freeze(self) -> None:
        """Stop every process of the server with SIGSTOP: connections stay open and nothing answers."""
        assert self._runner is not None
        os.killpg(self._runner.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server go on (SIGCONT)."""
        assert self._runner is not None
        os.killpg(self._runner.pid, signal.SIGCONT)

    def _spawn_runner(self, base_dir: Path) -> subprocess.Popen[bytes]:
        command = [sys.executable, str(Path(__file__).resolve()), "--base-dir", str(base_dir)]
        command += ["--parent-pid", str(os.getpid()), "--time-tick-ms", str(self.time_tick_ms)]
        with open(base_dir / "runner.log", "wb") as log:
            return subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_until_ready(self, deadline: float) -> int:
        assert self._runner is not None and self.base_dir is not None
        ready = self.base_dir / "ready.json"
        while time.monotonic() < deadline:
            if ready.exists():
                return int(json.loads(ready.read_text())["port"])
            if self._runner.poll() is not None:
                raise RuntimeError(f"the Milvus runner exited with {self._runner.returncode}:\n{self._log_tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"Milvus did not start in time:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        assert self.base_dir is not None
        logs = [self.base_dir / "runner.log", self.base_dir / "logs" / "milvus-stderr.log"]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())


def _end_process_group(runner: subprocess.Popen[bytes]) -> None:
    """Ask the runner to stop the server, then kill whatever of its process group is left."""
    with contextlib.suppress(ProcessLookupError):
        runner.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        runner.wait(timeout=_STOP_GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(runner.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        runner.wait(timeout=5)


def _wait_until_answering(uri: str, deadline: float) -> None:
    from pymilvus import MilvusClient

    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client = MilvusClient(uri=uri, timeout=5, alias=f"probe-{uuid.uuid4().hex}")
            try:
                client.list_collections(timeout=5)
                return
            finally:
                client.close()
        except Exception as exc:  # Any failure means not yet; the last one is reported.
            last = exc
            time.sleep(0.5)
    raise TimeoutError(f"Milvus at {uri} did not answer: {last}")


def _link_cached_binaries(base_dir: Path) -> None:
    """Unpack the server's binaries once into the user's cache (under a lock) and link them in."""
    import milvus
    from filelock import FileLock

    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = cache_root / "localmind-tests" / f"milvus-{milvus.__version__}"
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".lock")):
        milvus._initialize_data_files(str(cache))  # Checks each file's digest; unpacks only what changed.
    (base_dir / "bin").symlink_to(cache / "bin", target_is_directory=True)


# The runner: this file run as a script. ------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    """Distinct ports free now on 127.0.0.1 (all sockets open at once, so none repeats)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _embedded_etcd_config(path: Path, client_port: int, peer_port: int) -> None:
    """The embedded etcd listens on 2379 and 2380 unless told otherwise; this tells it otherwise."""
    peer = f"http://127.0.0.1:{peer_port}"
    client = f"http://127.0.0.1:{client_port}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"name: localmind-test\nlisten-peer-urls: {peer}\ninitial-advertise-peer-urls: {peer}\n"
        f"initial-cluster: localmind-test={peer}\nlisten-client-urls: {client}\nadvertise-client-urls: {client}\n"
    )


def _template(text: str, etcd_config: Path) -> str:
    """The packaged config template, pointing etcd at its own config and every component at 127.0.0.1."""
    anchor = "  use:\n    embed: true"
    if anchor not in text:
        raise RuntimeError("the milvus package's config template changed: cannot configure the embedded etcd")
    text = text.replace(anchor, f"  config:\n    path: {etcd_config}\n{anchor}", 1)
    return re.sub(r"^(  ip:).*$", r"\1 127.0.0.1", text, flags=re.MULTILINE)


def _configured_server(base_dir: Path, time_tick_ms: int) -> Any:
    from milvus import MilvusServer, MilvusServerConfig

    server = MilvusServer(MilvusServerConfig())
    server.set_base_dir(str(base_dir))
    keys = [key for key in server.config_keys if key.endswith(_PORT_SUFFIX)]
    ports = _free_ports(len(keys) + 2)
    # Ports given as settings are bound exactly (start fails if one was taken meanwhile) rather than searched.
    server.config.update(**dict(zip(keys, ports, strict=False)))
    etcd_config = base_dir / "configs" / "embed-etcd.yaml"
    _embedded_etcd_config(etcd_config, server.config.configs["etcd_port"], ports[-2])
    server.config.template_text = _template(server.config.template_text, etcd_config)
    server.config.set("proxy.timeTickInterval", time_tick_ms)
    server.webservice_port = ports[-1]
    return server


def _set_parent_death_signal() -> None:
    """In the server's process, before exec: the kernel sends SIGKILL when the runner dies."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _server_dies_with_runner() -> None:
    """`milvus` starts its binary with subprocess.Popen; on Linux, give that child a parent-death signal."""
    if not sys.platform.startswith("linux"):
        return
    popen = subprocess.Popen

    class _Popen(popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("preexec_fn", _set_parent_death_signal)
            super().__init__(*args, **kwargs)

    subprocess.Popen = _Popen  # type: ignore[misc]


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run(base_dir: Path, parent_pid: int, time_tick_ms: int) -> int:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    if os.getppid() != parent_pid:
        return 1  # The test process is already gone.
    _server_dies_with_runner()
    server = _configured_server(base_dir, time_tick_ms)
    try:
        server.start()
        ready = base_dir / "ready.json"
        ready.with_suffix(".tmp").write_text(json.dumps({"port": server.listen_port, "pid": server.server_proc.pid}))
        ready.with_suffix(".tmp").rename(ready)
        print(f"milvus ready on port {server.listen_port}", flush=True)
        while os.getppid() == parent_pid and server.server_proc.poll() is None:
            time.sleep(_POLL_S)
        return 0
    finally:
        server.stop()
        if os.getppid() != parent_pid:  # Nobody is left to remove the folder.
            shutil.rmtree(base_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Milvus standalone server for the tests.")
    parser.add_argument("--base-dir", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--time-tick-ms", type=int, default=DEFAULT_TIME_TICK_MS)
    args = parser.parse_args(argv)
    return _run(args.base_dir, args.parent_pid, args.time_tick_ms)


if __name__ == "__main__":
    sys.exit(main())
