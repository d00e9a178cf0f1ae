"""Fixtures for the store tests: a real Neo4j server for the session, and a fresh workspace key per test.

When LOCALMIND_TEST_NEO4J_URI is set (with LOCALMIND_TEST_NEO4J_PASSWORD, and LOCALMIND_TEST_NEO4J_USER when it
is not neo4j), the tests use that server; otherwise they start one of their own. Neither way skips anything.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localmind.config import GraphSettings
from tests.servers.neo4j_server import Neo4jServer

# Read at import, before the suite's autouse fixture hides every LOCALMIND_* variable from the tests.
EXTERNAL_NEO4J_URI = os.environ.get("LOCALMIND_TEST_NEO4J_URI")
EXTERNAL_NEO4J_USER = os.environ.get("LOCALMIND_TEST_NEO4J_USER", "neo4j")
EXTERNAL_NEO4J_PASSWORD = os.environ.get("LOCALMIND_TEST_NEO4J_PASSWORD", "")


@dataclass
class Neo4jEndpoint:
    """Where the tests' Neo4j answers; `server` is None when it is an external one the tests do not own."""

    uri: str
    user: str
    password: str
    server: Neo4jServer | None

    def settings(self, **overrides: object) -> GraphSettings:
        values: dict[str, object] = {"backend": "neo4j", "uri": self.uri, "user": self.user, "password": self.password}
        return GraphSettings.model_validate({**values, **overrides})


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jEndpoint]:
    if EXTERNAL_NEO4J_URI:
        yield Neo4jEndpoint(EXTERNAL_NEO4J_URI, EXTERNAL_NEO4J_USER, EXTERNAL_NEO4J_PASSWORD, None)
        return
    server = Neo4jServer(Path(tmp_path_factory.mktemp("neo4j")) / "home")
    server.start()
    try:
        yield Neo4jEndpoint(server.uri, server.user, server.password, server)
    finally:
        server.stop()


@pytest.fixture()
def neo4j_settings(neo4j_server: Neo4jEndpoint) -> GraphSettings:
    return neo4j_server.settings()


@pytest.fixture()
def workspace_key() -> str:
    """A workspace of this test's own, so tests sharing one database never meet."""
    return f"test-{uuid.uuid4().hex[:16]}"
