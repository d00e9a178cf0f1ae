"""Shutdown while other requests are pending: every pending request is cancelled and the shutdown succeeds.
Shutdown during a long indexing pass stops the pass instead of waiting for it.

pygls's own shutdown cancels pending requests while iterating over the dictionary that each cancelled
future's callback removes it from; `cancel_other_requests` (called by the shutdown feature first) avoids that."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from localmind.embeddings import OnnxEmbedder
from localmind.lsp.features import build_server
from localmind.lsp.server import LocalMindProtocol
from tests.indexing.test_crash_safety import make_corpus
from tests.lsp.helpers import server_env, start_client
from tests.lsp.test_plain_client import plain_text_only, status

# Files of the corpus whose first index is stopped: about 2,000 chunks, so phase 2 has many steps left.
CORPUS_FILES = 400


def pending_requests(protocol: LocalMindProtocol, count: int) -> list[Future[Any]]:
    """Requests whose futures leave the table when done, as pygls's response callback does."""
    futures: list[Future[Any]] = []
    for msg_id in range(count):
        future: Future[Any] = Future()
        future.add_done_callback(lambda _, key=msg_id: protocol._request_futures.pop(key, None))
        protocol._request_futures[msg_id] = future
        futures.append(future)
    return futures


def run_pygls_shutdown(protocol: LocalMindProtocol) -> None:
    """pygls's shutdown handler to its end, without calling our feature's handler that it yields first."""
    generator = protocol.lsp_shutdown()
    with contextlib.suppress(StopIteration):
        next(generator)
        generator.send(None)


def test_pygls_alone_fails_to_shut_down_with_requests_pending() -> None:
    protocol = build_server().protocol
    assert isinstance(protocol, LocalMindProtocol)
    protocol._ctx_msg_id.set("shutdown")  # As pygls sets it while handling the shutdown request.
    pending_requests(protocol, 3)
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        run_pygls_shutdown(protocol)


def test_cancelling_first_lets_the_shutdown_finish() -> None:
    protocol = build_server().protocol
    assert isinstance(protocol, LocalMindProtocol)
    protocol._ctx_msg_id.set("shutdown")  # As pygls sets it while handling the shutdown request.
    current: Future[Any] = Future()
    protocol._request_futures["shutdown"] = current
    futures = pending_requests(protocol, 3)
    protocol.cancel_other_requests()
    run_pygls_shutdown(protocol)
    assert all(future.cancelled() for future in futures) and not current.done()
    assert list(protocol._request_futures) == ["shutdown"]


def embedding(status: dict[str, Any]) -> bool:
    """Whether the first pass runs its phase 2 (every file indexed, chunks being embedded)."""
    indexing = status.get("indexing", {})
    return bool(indexing.get("running")) and indexing.get("phase") == "embedding"


@pytest.mark.asyncio
async def test_shutdown_during_the_first_index_stops_the_pass(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path
) -> None:
    """Closing the service used to wait for the whole pass, so the shutdown answer came minutes late on a large
    workspace (eglot gives up after 1.5 s). The pass now stops after its current step: the store records it
    as cancelled with chunks still to embed, and a client without progress (eglot) is not told of it."""
    root = tmp_path / "ws"
    make_corpus(root, files=CORPUS_FILES)
    env = server_env(model_cache, tmp_path / "data", tmp_path / "config")
    client = await start_client(root.resolve(), env, adjust=plain_text_only)
    async with asyncio.timeout(120):
        while not embedding(found := await status(client)):
            await asyncio.sleep(0.05)
    await client.shutdown_session()
    with contextlib.closing(sqlite3.connect(f"file:{found['store']}?mode=ro", uri=True)) as db:
        [(run_status,)] = db.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchall()
        [(pending,)] = db.execute("SELECT count(*) FROM pending_vectors").fetchall()
    assert run_status == "cancelled" and pending > 0, (run_status, pending)
    said = [message.message for message in client.messages]
    assert not any("cancelled" in text for text in said), said
