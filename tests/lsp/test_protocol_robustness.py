"""The raw protocol: malformed messages get error responses while the server keeps serving; TCP needs a
token; stdout carries nothing but JSON-RPC. These tests write bytes by hand, as a broken client would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from localmind.embeddings import OnnxEmbedder
from tests.lsp.helpers import server_env

TOKEN = "a-test-token-that-is-long-enough"


def frame(body: bytes) -> bytes:
    return b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def message(**fields: Any) -> bytes:
    return frame(json.dumps({"jsonrpc": "2.0", **fields}).encode())


def read_message(stream: BinaryIO) -> dict[str, Any]:
    """One framed message; every header line must be an LSP header (nothing else may reach stdout)."""
    length = None
    while True:
        line = stream.readline()
        assert line, "the server closed the stream"
        if line == b"\r\n":
            break
        name, _, value = line.decode("ascii").partition(":")
        assert name in ("Content-Length", "Content-Type"), f"not an LSP header: {line!r}"
        if name == "Content-Length":
            length = int(value)
    assert length is not None
    parsed: dict[str, Any] = json.loads(stream.read(length))
    return parsed


def response_to(stream: BinaryIO, wanted: object, limit: int = 200) -> dict[str, Any]:
    """The response with this id, skipping notifications and server requests."""
    for _ in range(limit):
        received = read_message(stream)
        if "method" not in received and received.get("id") == wanted:
            return received
    raise AssertionError(f"no response to {wanted!r}")


def response_within(stream: BinaryIO, wanted: object, seconds: float = 30) -> dict[str, Any]:
    """The response with this id; an AssertionError, not a hang, when none comes (a deadlocked server)."""
    found: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: found.update(response_to(stream, wanted)), daemon=True)
    reader.start()
    reader.join(seconds)
    assert found, f"no answer to request {wanted!r}: the server is stuck"
    return found


@pytest.fixture()
def raw_server(embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = server_env(model_cache, tmp_path / "data", tmp_path / "config")
    process = subprocess.Popen(
        [sys.executable, "-m", "localmind", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    yield process
    process.kill()
    process.wait()


def send(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    process.stdin.write(data)
    process.stdin.flush()


def initialized(process: subprocess.Popen[bytes], root: Path) -> BinaryIO:
    """The server's output stream, once initialize was answered and initialized sent."""
    out = process.stdout
    assert out is not None
    send(process, message(id=1, method="initialize", params={"capabilities": {}, "rootUri": root.as_uri()}))
    assert "capabilities" in response_within(out, 1)["result"]
    send(process, message(method="initialized", params={}))
    return out


def test_malformed_messages_get_errors_and_the_server_keeps_serving(
    raw_server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    out = raw_server.stdout
    assert out is not None
    send(raw_server, message(id=1, method="initialize", params={"capabilities": {}, "rootUri": tmp_path.as_uri()}))
    assert "capabilities" in response_to(out, 1)["result"]
    send(raw_server, message(method="initialized", params={}))
    flood = [
        (frame(b'{"jsonrpc": "2.0", "id": 2, "method": '), None, -32700),  # Invalid JSON.
        (message(id=3, method="textDocument/hover", params={"textDocument": 7}), 3, -32602),  # Wrong params.
        (message(id=4, method="no/suchMethod", params={}), 4, -32601),  # Unknown method.
        (message(id=5, method="workspace/executeCommand", params={"command": "localmind.search"}), 5, -32602),
        (message(id=6, method="workspace/executeCommand", params={"command": "no.such.command"}), 6, None),
    ]
    for _ in range(3):
        for data, _, _ in flood:
            send(raw_server, data)
    for _ in range(3):
        for _, wanted, code in flood:
            error = response_to(out, wanted)["error"]
            assert code is None or error["code"] == code, error
    send(raw_server, message(id=7, method="workspace/symbol", params={"query": "anything"}))
    assert "result" in response_to(out, 7), "the server still answers"


def start_tcp(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "localmind", "serve", "--tcp", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**env, "LOCALMIND_LSP_TOKEN": TOKEN},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the TCP server did not start")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def initialize_over_tcp(port: int, options: dict[str, Any] | None) -> dict[str, Any] | None:
    """The initialize response, or None when the server closed the connection instead."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        params: dict[str, Any] = {"capabilities": {}, "rootUri": None, "initializationOptions": options}
        connection.sendall(message(id=1, method="initialize", params=params))
        stream = connection.makefile("rb")
        try:
            return response_to(stream, 1)
        except AssertionError:
            return None


def test_tcp_needs_the_token_and_binds_to_localhost(embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path) -> None:
    port = free_port()
    process = start_tcp(port, server_env(model_cache, tmp_path / "data", tmp_path / "config"))
    try:
        assert initialize_over_tcp(port, None) is None, "no token: connection closed"
        assert initialize_over_tcp(port, {"token": "wrong-token-wrong-token"}) is None, "wrong token: closed"
        answer = initialize_over_tcp(port, {"token": TOKEN})
        assert answer is not None and "capabilities" in answer["result"]
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=False)
        if listening.returncode == 0 and listening.stdout.strip():
            local_addresses = [line.split()[3] for line in listening.stdout.splitlines()]
            assert all(address.startswith("127.0.0.1:") for address in local_addresses), local_addresses
    finally:
        process.kill()
        process.wait()
    assert process.stdout is not None and process.stdout.read() == b"", "TCP mode writes nothing to stdout"


def test_tcp_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    done = subprocess.run(
        [sys.executable, "-m", "localmind", "serve", "--tcp", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "token" in done.stderr and done.stdout == ""


def test_a_hover_on_a_fifo_or_a_file_outside_the_workspace_reads_nothing(
    raw_server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """Failed before (issue #17, finding 3): a hover on an unopened FIFO blocked the event loop for good."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "note.md").write_text("# Note\n\nAbout fifos.\n")
    fifo = tmp_path / "outside.fifo"
    os.mkfifo(fifo)
    inner_fifo = workspace / "inner.fifo"
    os.mkfifo(inner_fifo)
    out = initialized(raw_server, workspace)
    for request, target in enumerate((fifo, inner_fifo, Path("/dev/zero")), start=2):
        position = {"line": 0, "character": 0}
        params = {"textDocument": {"uri": target.as_uri()}, "position": position}
        send(raw_server, message(id=request, method="textDocument/hover", params=params))
        assert response_within(out, request).get("result") is None
    send(raw_server, message(id=9, method="workspace/executeCommand", params={"command": "localmind.status"}))
    assert "result" in response_within(out, 9), "the server still answers"


def test_broken_frames_neither_kill_nor_deafen_the_stdio_server(
    raw_server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """Failed before (issue #17, finding 4): the first frame made the process exit, the next two left it deaf."""
    out = initialized(raw_server, tmp_path)
    broken = [
        b"Content-Length: 99999999999999999999\r\n\r\n{}",
        b"Content-Length: -5\r\n\r\n{}",
        b"Content-Length: 5000000000\r\n\r\nxx",
    ]
    for request, data in enumerate(broken, start=2):
        send(raw_server, data)
        send(raw_server, message(id=request, method="workspace/symbol", params={"query": "anything"}))
        assert "result" in response_within(out, request)
    body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "workspace/symbol", "params": {"query": "x"}}).encode()
    send(raw_server, b"Content-Length: " + str(len(body)).encode() + b"\n\n" + body)  # Bare line feeds.
    assert "result" in response_within(out, 9)
    assert raw_server.poll() is None, "the server is still running"


def test_a_tcp_client_trickling_headers_is_closed_within_the_first_message_deadline(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path
) -> None:
    """Failed before (issue #17, finding 5): the deadline was per header line, so one line every few seconds
    held the connection for as long as the 4 kB header cap allowed (about 45 minutes)."""
    port = free_port()
    process = start_tcp(port, server_env(model_cache, tmp_path / "data", tmp_path / "config"))
    sent = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
            connection.settimeout(2)
            for sent in range(1, 40):  # One header line every 2 s: 80 s in all unless the server hangs up.
                try:
                    connection.sendall(f"X-Slow-{sent}: 1\r\n".encode())
                    if connection.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
    finally:
        process.kill()
        process.wait()
    assert sent < 39, "the server kept a connection that never finished its first message"


def test_requests_before_initialize_are_refused_as_not_initialized(
    raw_server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """Failed before (issue #17, finding 6): requests before initialize were served."""
    out = raw_server.stdout
    assert out is not None
    send(raw_server, message(id=1, method="workspace/symbol", params={"query": "anything"}))
    command = {"command": "localmind.status"}
    send(raw_server, message(id=2, method="workspace/executeCommand", params=command))
    assert response_within(out, 1)["error"]["code"] == -32002
    assert response_within(out, 2)["error"]["code"] == -32002
    send(raw_server, message(id=3, method="initialize", params={"capabilities": {}, "rootUri": tmp_path.as_uri()}))
    assert "capabilities" in response_within(out, 3)["result"]
    send(raw_server, message(method="initialized", params={}))
    send(raw_server, message(id=4, method="workspace/symbol", params={"query": "anything"}))
    assert "result" in response_within(out, 4)


def test_every_message_with_an_id_and_every_non_object_gets_an_answer(
    raw_server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """Failed before (issue #17, finding 6): non-object JSON and notifications sent with an id got nothing."""
    out = initialized(raw_server, tmp_path)
    send(raw_server, message(id=2, method="initialized", params={}))  # A notification sent with an id.
    assert response_within(out, 2)["error"]["code"] == -32600
    for body in (b"[1, 2]", b"42", b'"text"', b"null", b'{"id": 3, "method": "workspace/symbol"}'):
        send(raw_server, frame(body))
        wanted = 3 if b'"id": 3' in body else None
        assert response_within(out, wanted)["error"]["code"] == -32600, body
    send(raw_server, message(id=4, method="workspace/symbol", params={"query": "anything"}))
    assert "result" in response_within(out, 4)


def test_broken_frames_neither_kill_nor_deafen_a_tcp_connection(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path
) -> None:
    """The TCP twin of the stdio test above: after the token, the same reader guards the connection."""
    port = free_port()
    process = start_tcp(port, server_env(model_cache, tmp_path / "data", tmp_path / "config"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            params = {"capabilities": {}, "rootUri": tmp_path.as_uri(), "initializationOptions": {"token": TOKEN}}
            connection.sendall(message(id=1, method="initialize", params=params))
            stream = connection.makefile("rb")
            assert "capabilities" in response_within(stream, 1)["result"]
            connection.sendall(message(method="initialized", params={}))
            broken = [b"Content-Length: 99999999999999999999\r\n\r\n{}", b"Content-Length: -5\r\n\r\n{}"]
            for request, data in enumerate(broken, start=2):
                connection.sendall(data)
                connection.sendall(message(id=request, method="workspace/symbol", params={"query": "anything"}))
                assert "result" in response_within(stream, request)
    finally:
        process.kill()
        process.wait()
