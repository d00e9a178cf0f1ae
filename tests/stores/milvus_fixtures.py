"""Milvus for the store tests: a real standalone server for the session (or the one named by
LOCALMIND_TEST_MILVUS_URI, with LOCALMIND_TEST_MILVUS_TOKEN), and Milvus Lite files.

Import the fixtures into a test module (`from tests.stores.milvus_fixtures import milvus_server`); the
server starts only when a test asks for it. Collections are named with a prefix of this session's own,
and on a server the tests did not start they are dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from localmind.config import VectorSettings
from tests.servers.milvus_server import MilvusServerProcess

# Read when the tests are collected: an autouse fixture clears LOCALMIND_* variables around each test.
EXTERNAL_URI = os.environ.get("LOCALMIND_TEST_MILVUS_URI", "")
EXTERNAL_TOKEN = os.environ.get("LOCALMIND_TEST_MILVUS_TOKEN", "")

# One prefix per test session, so runs sharing an external server never meet.
SESSION_PREFIX = f"lmtest_{uuid.uuid4().hex[:8]}"


def connection_waits(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The seconds pymilvus allows each wait for a new connection from now on (what it hands gRPC's
    `channel_ready_future(...).result`): how long a client waits for a server that is not there, read
    from the client instead of measured with a clock. pymilvus waits 10 s when it is given no timeout."""
    import grpc  # type: ignore[import-untyped]

    waits: list[float | None] = []
    ready = grpc.channel_ready_future

    class Recorded:
        def __init__(self, future: Any) -> None:
            self._future = future

        def result(self, timeout: float | None = None) -> Any:
            waits.append(timeout)
            return self._future.result(timeout=timeout)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._future, name)

    monkeypatch.setattr(grpc, "channel_ready_future", lambda channel: Recorded(ready(channel)))
    return waits


@dataclass(frozen=True)
class MilvusEndpoint:
    """A Milvus server the tests may use: its URI and, for a server with authentication, a token."""

    uri: str
    token: SecretStr | None = None

    def settings(self, **overrides: object) -> VectorSettings:
        """Vector settings for this server; Strong consistency, so a test reads what it just wrote."""
        values: dict[str, object] = {
            "backend": "milvus",
            "uri": self.uri,
            "token": self.token,
            "consistency_level": "Strong",
            "collection_prefix": SESSION_PREFIX,
            "timeout": 30.0,
        }
        values.update(overrides)
        return VectorSettings.model_validate(values)


class _SharedServer:
    """The one server of the session. Each test module that imports `milvus_server` gets a fixture of
    its own, so the fixtures share this: the first starts the server, the last to finish stops it."""

    def __init__(self) -> None:
        self._users = 0
        self._endpoint: MilvusEndpoint | None = None
        self._process: MilvusServerProcess | None = None

    def acquire(self) -> MilvusEndpoint:
        if self._endpoint is None:
            self._endpoint = self._open()
        self._users += 1
        return self._endpoint

    def release(self) -> None:
        self._users -= 1
        if self._users > 0 or self._endpoint is None:
            return
        if self._process is not None:
            self._process.stop()
        else:
            _drop_session_collections(self._endpoint)
        self._endpoint, self._process = None, None

    def _open(self) -> MilvusEndpoint:
        if EXTERNAL_URI:
            return MilvusEndpoint(EXTERNAL_URI, SecretStr(EXTERNAL_TOKEN) if EXTERNAL_TOKEN else None)
        process = MilvusServerProcess()
        process.start()
        self._process = process
        return MilvusEndpoint(process.uri)


_SHARED_SERVER = _SharedServer()


def milvus_process() -> MilvusServerProcess | None:
    """The session's own Milvus server process (to freeze it), or None for an external server."""
    return _SHARED_SERVER._process


@pytest.fixture(scope="session")
def milvus_server() -> Iterator[MilvusEndpoint]:
    """The session's Milvus server: started here in a temporary folder, or the external one."""
    endpoint = _SHARED_SERVER.acquire()
    try:
        yield endpoint
    finally:
        _SHARED_SERVER.release()


@pytest.fixture(scope="session")
def milvus_lite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Milvus Lite file for the session; tests keep apart by workspace, as on a server."""
    return tmp_path_factory.mktemp("milvus-lite") / "vectors.db"


def lite_settings(path: Path, **overrides: object) -> VectorSettings:
    """Vector settings for a Milvus Lite file."""
    values: dict[str, object] = {
        "backend": "milvus",
        "uri": str(path),
        "consistency_level": "Strong",
        "collection_prefix": SESSION_PREFIX,
    }
    values.update(overrides)
    return VectorSettings.model_validate(values)


def _drop_session_collections(endpoint: MilvusEndpoint) -> None:
    from pymilvus import MilvusClient

    token = endpoint.token.get_secret_value() if endpoint.token else ""
    client = MilvusClient(uri=endpoint.uri, token=token, timeout=30, alias=f"cleanup-{uuid.uuid4().hex}")
    try:
        for name in client.list_collections():
            if name.startswith(SESSION_PREFIX):
                client.drop_collection(name)
    finally:
        client.close()
