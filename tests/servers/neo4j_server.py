"""A real Neo4j 5.26 server for the tests, run by the small Java launcher in tests/servers/neo4j/.

The launcher is built once with Maven and cached under ~/.cache/localmind-test/neo4j-launcher/<digest>/, where
the digest covers pom.xml and the Java sources, so a change to either builds a new launcher. It is built in a
temporary copy of its folder, so the repository stays clean. Each server gets a free port on 127.0.0.1, a
temporary home folder and a random password; `stop()` and `start()` can be called again on the same home, so
tests can take the server away and bring it back with its data.

The launcher sets the password it is given with ALTER USER, which Neo4j refuses when the password does not
change, so a restart on the same home would fail. Each start therefore hands the launcher a one-time password
and, once Bolt answers, changes it to the server's own password (which stays the same across restarts).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from neo4j import GraphDatabase

LAUNCHER_SOURCE = Path(__file__).parent / "neo4j"
LAUNCHER_CLASS = "localmind.testing.Neo4jLauncher"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "localmind-test" / "neo4j-launcher"
USER = "neo4j"
HEAP = "-Xmx512m"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
BUILD_TIMEOUT_S = 900.0


class Neo4jServerError(RuntimeError):
    """The launcher could not be built, or the server did not start; the message holds its output."""


def launcher_digest() -> str:
    """A digest of everything the build reads: pom.xml and every Java source, by path and content."""
    digest = hashlib.sha256()
    files = [LAUNCHER_SOURCE / "pom.xml", *sorted((LAUNCHER_SOURCE / "src").rglob("*.java"))]
    for path in files:
        digest.update(str(path.relative_to(LAUNCHER_SOURCE)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def launcher_lib() -> Path:
    """The folder of launcher and dependency jars, built on first use and cached by source digest."""
    cached = CACHE_ROOT / launcher_digest() / "lib"
    if (cached / "neo4j-launcher.jar").is_file():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neo4j-launcher-build-", dir=cached.parent) as scratch:
        built = _build_in_copy(Path(scratch))
        try:
            built.rename(cached)
        except OSError:
            # Another test session finished the same build first; its result is identical.
            if not (cached / "neo4j-launcher.jar").is_file():
                raise
    return cached


def _build_in_copy(scratch: Path) -> Path:
    """Copy the launcher's sources into a scratch folder and run Maven there; answer the lib folder."""
    project = scratch / "project"
    project.mkdir()
    shutil.copy2(LAUNCHER_SOURCE / "pom.xml", project / "pom.xml")
    shutil.copytree(LAUNCHER_SOURCE / "src", project / "src")
    command = ["mvn", "-q", "-B", "-f", str(project / "pom.xml"), "package"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    lib = project / "target" / "lib"
    if done.returncode != 0 or not (lib / "neo4j-launcher.jar").is_file():
        raise Neo4jServerError(f"building the Neo4j launcher failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return lib


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Neo4jServer:
    """One Neo4j DBMS in a child JVM (its own process group), with Bolt on 127.0.0.1:port."""

    def __init__(self, home: Path, lib: Path | None = None) -> None:
        self.home = home
        self.lib = lib or launcher_lib()
        self.port = free_port()
        self.user = USER
        self.password = secrets.token_urlsafe(18)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        return f"Neo4jServer(uri={self.uri!r}, home={str(self.home)!r})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the JVM (again, on the same home and port) and wait until Bolt answers."""
        if self.running:
            return
        self.home.mkdir(parents=True, exist_ok=True)
        output = self.home / "launcher.log"
        began = output.stat().st_size if output.exists() else 0
        one_time = secrets.token_urlsafe(18)
        with output.open("ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NEO4J_TEST_PASSWORD": one_time},
                start_new_session=True,
            )
        try:
            self._wait_until_ready(output, began)
            self._take_password_from(one_time)
        except BaseException:
            self.stop()
            raise

    def _command(self) -> list[str]:
        java = shutil.which("java") or "java"
        data = str(self.home / "dbms")
        return [java, HEAP, "-XX:+UseSerialGC", "-cp", f"{self.lib}/*", LAUNCHER_CLASS, data, str(self.port)]

    def _wait_until_ready(self, output: Path, began: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = f"READY {self.port}".encode()
        while ready not in _read_from(output, began):
            if self._process is None or self._process.poll() is not None:
                raise Neo4jServerError(f"Neo4j exited before it was ready:\n{_tail(output, began)}")
            if time.monotonic() > deadline:
                raise Neo4jServerError(f"Neo4j was not ready after {START_TIMEOUT_S:.0f} s:\n{_tail(output, began)}")
            time.sleep(0.1)

    def _take_password_from(self, one_time: str) -> None:
        """Change the launcher's one-time password to this server's own, then check that it works."""
        with GraphDatabase.driver(self.uri, auth=(self.user, one_time)) as driver:
            driver.execute_query(
                "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
                old=one_time,
                new=self.password,
                database_="system",
            )
        with GraphDatabase.driver(self.uri, auth=(self.user, self.password)) as driver:
            driver.verify_connectivity()

    def kill(self) -> None:
        """End the server at once, as a crash would (SIGKILL to its process group); committed data survives."""
        process, self._process = self._process, None
        if process is not None:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """Close the launcher's stdin (a clean shutdown), then terminate and kill its process group."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # A child the JVM started would outlive it in the same group; none should, but make sure.
        _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _read_from(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read()


def _tail(path: Path, offset: int, limit: int = 6000) -> str:
    return _read_from(path, offset)[-limit:].decode("utf-8", "replace")
