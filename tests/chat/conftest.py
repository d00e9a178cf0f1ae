"""Chat test fixtures: a real local LLM (SmolLM2-135M-Instruct on llama.cpp, started once per session), a
recording proxy in front of it (what was sent, and whether the client hung up early), an endpoint that
accepts connections and never answers, and a searcher over the indexed fixture workspace."""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from localmind.config import IndexingSettings, RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.workspace import open_workspace
from localmind.retrieval import Searcher
from localmind.stores.sqlite_store import SqliteStore
from tests.servers.llm_server import LlmServer, start_llm_server

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


@pytest.fixture(scope="session")
def llm() -> Iterator[LlmServer]:
    """The real LLM for all chat tests, started once (about a second) and stopped at the end."""
    with start_llm_server() as server:
        yield server


@dataclass
class Exchange:
    """One request through the proxy: its JSON body, and how its answer went."""

    body: dict[str, Any]
    chunks: int = 0
    client_gone: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class RecordingProxy:
    """Forwards POSTs to an upstream OpenAI-compatible server, streaming its answer back piece by piece,
    and records every request body and whether the client hung up before the answer ended.

    A test can hold answers mid-stream: while `flowing` is cleared, each stream stops after its next piece
    (and `holding` is set) until `flowing` is set again; what happens meanwhile happened during the answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []
        self.flowing = threading.Event()
        self.flowing.set()
        self.holding = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # The answer ends when the connection closes.

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                exchange = Exchange(body)
                proxy.exchanges.append(exchange)
                try:
                    proxy._forward(self, body, exchange)
                finally:
                    exchange.done.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _forward(self, handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any], exchange: Exchange) -> None:
        url = self.upstream + handler.path.removeprefix("/v1")
        try:
            with httpx.stream("POST", url, json=body, timeout=60) as response:
                handler.send_response(response.status_code)
                handler.send_header("Content-Type", response.headers.get("content-type", "text/event-stream"))
                handler.end_headers()
                for piece in response.iter_raw():
                    handler.wfile.write(piece)
                    handler.wfile.flush()
                    exchange.chunks += 1
                    if not self.flowing.is_set():
                        self.holding.set()
                        self.flowing.wait()
        except (BrokenPipeError, ConnectionResetError):
            exchange.client_gone = True
        except httpx.HTTPError:
            pass  # The upstream went away: the client sees its stream end early.

    def close(self) -> None:
        self.flowing.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture()
def proxy(llm: LlmServer) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(llm.base_url)
    yield recording
    recording.close()


class SilentEndpoint:
    """Accepts connections and never sends a byte (a hung server)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.2)
        self._connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"

    @property
    def accepted(self) -> int:
        return len(self._connections)

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                connection, _ = self._socket.accept()
                self._connections.append(connection)  # Kept open, never read nor answered.

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for connection in self._connections:
            connection.close()
        self._socket.close()


@pytest.fixture()
def silent() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def chat_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chat") / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    return root.resolve()


@pytest.fixture(scope="module")
def searcher(chat_root: Path, fp32: OnnxEmbedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Searcher]:
    """A searcher over the indexed fixture workspace (the test's own copy)."""
    indexing = IndexingSettings(data_dir=tmp_path_factory.mktemp("chat-data"))
    workspace = open_workspace([chat_root], indexing)
    Indexer(workspace, indexing, fp32).run()
    searcher = Searcher(SqliteStore(workspace.store_path), fp32, RetrievalSettings())
    yield searcher
    searcher.close()
    searcher.store.close()
