"""The command line's logs: JSON lines on stderr (or a file), never on stdout, where results and the
JSON-RPC stream go; and the metrics endpoint of `localmind serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from localmind.embeddings import OnnxEmbedder

REPORT_KEYS = {"files_seen", "files_indexed", "chunks_written", "seconds"}


@pytest.fixture()
def env(model_cache: Path, embedder: OnnxEmbedder, tmp_path: Path) -> dict[str, str]:
    del embedder  # Requested so that the default model is built in model_cache.
    return {
        **os.environ,
        "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(model_cache),
        "LOCALMIND_INDEXING__DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "notes.md").write_text("# Notes\n\nThe database password=hunter2 lives in the vault.\n")
    (root / "code.py").write_text('def connect():\n    """Open the pool."""\n    return 1\n')
    return root


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "localmind.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False)


def json_lines(text: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in text.splitlines()]
    for entry in entries:
        assert {"ts", "level", "logger", "message", "request_id", "correlation_id"} <= set(entry), entry
    return entries


def test_index_with_json_logs_keeps_stdout_for_the_report(env: dict[str, str], folder: Path, tmp_path: Path) -> None:
    result = run("--log-format", "json", "-vv", "index", str(folder), "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(report) >= REPORT_KEYS and report["files_indexed"] == 2
    entries = json_lines(result.stderr)  # Every stderr line is a JSON object: logs, progress and all.
    assert entries, "-vv logs something"
    assert "hunter2" not in result.stderr


def test_index_without_json_prints_its_report_on_stdout_only(env: dict[str, str], folder: Path, tmp_path: Path) -> None:
    result = run("--log-format", "json", "index", str(folder), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("indexed 2 files")
    json_lines(result.stderr)


def test_errors_are_json_lines_too(env: dict[str, str], tmp_path: Path) -> None:
    result = run("--log-format", "json", "status", str(tmp_path), env=env, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    [entry] = json_lines(result.stderr)
    assert entry["level"] == "ERROR" and "is not in an indexed workspace" in entry["message"]


def test_the_log_format_and_file_can_come_from_the_settings(env: dict[str, str], folder: Path, tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "localmind.log"
    env |= {"LOCALMIND_OBSERVABILITY__LOG_FORMAT": "json", "LOCALMIND_OBSERVABILITY__LOG_FILE": str(log_file)}
    result = run("-v", "index", str(folder), "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) >= REPORT_KEYS
    json_lines(log_file.read_text())


def test_the_flags_win_over_the_settings(env: dict[str, str], folder: Path, tmp_path: Path) -> None:
    env["LOCALMIND_OBSERVABILITY__LOG_FORMAT"] = "json"
    result = run("--log-format", "text", "status", str(tmp_path), env=env, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error:")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_with_a_metrics_port_serves_metrics_and_keeps_stdout_clean(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "localmind.cli",
        "--log-format",
        "json",
        "-v",
        "serve",
        "--metrics-port",
        str(port),
    ]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
    )
    try:
        text = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not text:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    text = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "localmind_request_seconds" in text and "localmind_process_resident_memory_bytes" in text
        with pytest.raises(OSError), socket.create_connection(("::1", port), timeout=1):
            pass  # Loopback IPv4 only: nothing listens on another address.
    finally:
        stdout, stderr = server.communicate(input=b"", timeout=30)
    assert stdout == b"", "stdout carries the JSON-RPC stream only"
    entries = json_lines(stderr.decode())
    assert any("metrics on http://127.0.0.1" in entry["message"] for entry in entries)


def test_a_metrics_port_below_1024_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    result = run("serve", "--metrics-port", "80", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "--metrics-port: must be a port from 1024 to 65535" in result.stderr


def test_a_taken_metrics_port_is_a_warning_and_the_command_goes_on(
    env: dict[str, str], folder: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run("index", str(folder), "--json", "--metrics-port", port, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: no metrics endpoint" in result.stderr and port in result.stderr
    assert set(json.loads(result.stdout)) >= REPORT_KEYS
