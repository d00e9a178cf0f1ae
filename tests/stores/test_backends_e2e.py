"""Neo4j + Milvus server selected end to end: `localmind index`, `search`, `verify` and the language server
give what the embedded store gives; a killed indexer and a Neo4j outage lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from localmind.embeddings import OnnxEmbedder
from tests.indexing.test_crash_safety import files_in_store, make_corpus
from tests.lsp.helpers import start_client, wait_for_index
from tests.stores.conftest import Neo4jEndpoint
from tests.stores.milvus_fixtures import MilvusEndpoint, milvus_server  # noqa: F401 - a fixture.

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"
QUERIES = ["where is parse_config defined", "merge two configurations", "how does the server start", "design notes"]
pytestmark = pytest.mark.slow


def backend_env(base: dict[str, str], neo4j: Neo4jEndpoint, milvus: MilvusEndpoint) -> dict[str, str]:
    return {
        **base,
        "LOCALMIND_GRAPH__BACKEND": "neo4j",
        "LOCALMIND_GRAPH__URI": neo4j.uri,
        "LOCALMIND_GRAPH__USER": neo4j.user,
        "LOCALMIND_GRAPH__PASSWORD": neo4j.password,
        "LOCALMIND_VECTORS__BACKEND": "milvus",
        "LOCALMIND_VECTORS__URI": milvus.uri,
        "LOCALMIND_VECTORS__CONSISTENCY_LEVEL": "Strong",
        "LOCALMIND_VECTORS__COLLECTION_PREFIX": f"e2e_{uuid.uuid4().hex[:8]}",
        **({"LOCALMIND_VECTORS__TOKEN": milvus.token.get_secret_value()} if milvus.token else {}),
    }


def plain_env(tmp: Path, name: str, model_cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    env.update(
        LOCALMIND_INDEXING__DATA_DIR=str(tmp / f"data-{name}"),
        LOCALMIND_EMBEDDINGS__CACHE_DIR=str(model_cache),
        XDG_CONFIG_HOME=str(tmp / "config"),
    )
    return env


def localmind(args: list[str], env: dict[str, str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "localmind", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )
    assert not check or done.returncode == 0, done.stderr
    return done


def top_hits(env: dict[str, str], root: Path) -> dict[str, list[tuple[str, int]]]:
    found = {}
    for query in QUERIES:
        hits = json.loads(localmind(["search", query, "--json", "-k", "5"], env, root).stdout)
        found[query] = [(hit["path"], hit["range"]["start"]["line"]) for hit in hits]
    return found


def verify(env: dict[str, str], root: Path) -> dict[str, Any]:
    """The backends' verdicts; the team cache's, which every run here fills, must agree with the store."""
    done = localmind(["verify", "--json"], env, root, check=False)
    report: dict[str, Any] = json.loads(done.stdout)
    cache = report.pop("team_cache")
    assert cache["clean"] and cache["mismatched"] == 0 and cache["checked"] > 0, cache
    return report


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    return root.resolve()


def test_servers_answer_like_the_embedded_store(
    workspace: Path,
    tmp_path: Path,
    model_cache: Path,
    embedder: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    embedded = plain_env(tmp_path, "embedded", model_cache)
    servers = backend_env(plain_env(tmp_path, "servers", model_cache), neo4j_server, milvus_server)
    localmind(["index", str(workspace)], embedded, workspace)
    indexed = localmind(["index", str(workspace)], servers, workspace)
    assert "unavailable" not in indexed.stderr, indexed.stderr
    assert top_hits(servers, workspace) == top_hits(embedded, workspace)
    report = verify(servers, workspace)
    assert set(report) == {"neo4j", "milvus"}
    assert all(r["clean"] and r["pending"] == 0 and r["files"] >= 9 for r in report.values()), report


@pytest.mark.asyncio
async def test_a_hover_through_the_language_server_uses_the_servers(
    workspace: Path,
    tmp_path: Path,
    model_cache: Path,
    embedder: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    env = backend_env(plain_env(tmp_path, "lsp", model_cache), neo4j_server, milvus_server)
    client = await start_client(workspace, env)
    try:
        await wait_for_index(client)
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="localmind.status"))
        backends = status["backends"]
        assert backends["graph"] == {"backend": "neo4j", "state": "ok", "pending": 0}, backends
        assert backends["vectors"] == {"backend": "milvus", "state": "ok", "pending": 0}, backends
        assert neo4j_server.password not in json.dumps(status), "the password never shows"
        note = workspace / "notes" / "architecture.md"
        line = next(n for n, text in enumerate(note.read_text().split("\n")) if "parse_config" in text)
        character = note.read_text().split("\n")[line].index("parse_config") + 2
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=note.as_uri()),
                position=types.Position(line=line, character=character),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "src/config_loader.py:12" in hover.contents.value.replace("\\", "")
    finally:
        await client.shutdown_session()


def test_a_killed_indexer_leaves_no_drift(
    tmp_path: Path,
    model_cache: Path,
    embedder: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    root = (tmp_path / "corpus").resolve()
    make_corpus(root, files=80)
    data = tmp_path / "data-killed"
    env = {**backend_env(plain_env(tmp_path, "killed", model_cache), neo4j_server, milvus_server)}
    env["LOCALMIND_EMBEDDINGS__BATCH_SIZE"] = "8"
    process = subprocess.Popen(
        [sys.executable, "-m", "localmind", "index", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline and files_in_store(data) < 20:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed_at = files_in_store(data)
    assert 0 <= killed_at < 80, f"the kill landed mid-run ({killed_at} of 80 files)"
    localmind(["index", str(root)], env, root)
    report = verify(env, root)
    assert all(r["clean"] and r["pending"] == 0 and r["files"] == 80 for r in report.values()), report


def test_a_neo4j_outage_is_replayed_from_the_outbox(
    workspace: Path,
    tmp_path: Path,
    model_cache: Path,
    embedder: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    if neo4j_server.server is None:
        pytest.skip("an external Neo4j cannot be stopped by the tests")
    env = backend_env(plain_env(tmp_path, "outage", model_cache), neo4j_server, milvus_server)
    env["LOCALMIND_GRAPH__ACQUISITION_TIMEOUT"] = "3"
    localmind(["index", str(workspace)], env, workspace)
    neo4j_server.server.stop()
    try:
        (workspace / "notes" / "outage.md").write_text(
            "# Outage\n\nWritten while the graph was down; see parse_config.\n"
        )
        (workspace / "src" / "utils.py").unlink()
        during = localmind(["index", str(workspace)], env, workspace)
        assert "neo4j is unavailable" in during.stderr and "wait in the outbox" in during.stderr, during.stderr
    finally:
        neo4j_server.server.start()
    stale = verify(env, workspace)
    assert stale["milvus"]["clean"] and not stale["neo4j"]["clean"] and stale["neo4j"]["pending"] == 2, stale
    localmind(["index", str(workspace)], env, workspace)  # The next run replays the outbox first.
    report = verify(env, workspace)
    assert all(r["clean"] and r["pending"] == 0 for r in report.values()), report
    hits = json.loads(
        localmind(["search", "written while the graph was down", "--json", "-k", "1"], env, workspace).stdout
    )
    assert hits[0]["path"] == "notes/outage.md"
