"""Fault injection against the real servers: Neo4j stopped in the middle of indexing and restarted,
Milvus frozen with SIGSTOP for 10 s. The language server keeps answering hovers, its breakers open and
close by themselves, the outbox replays, and `localmind verify` finds no drift. Each test prints what
it measured (collected in docs/BENCHMARKS.md under "Faults survived"). What it asserts is order and
outcome, never a time, which a busy machine stretches: hovers asked while the server is down are
answered with a card, and the frozen server's calls end at the configured timeout, as their error says.
The loops that wait for an event (the stop, the breaker, the recovery) have generous deadlines, which
only say that the event never came."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from localmind.embeddings import OnnxEmbedder
from tests.indexing.test_crash_safety import make_corpus
from tests.lsp.helpers import start_client, wait_for_index
from tests.stores.conftest import Neo4jEndpoint
from tests.stores.milvus_fixtures import MilvusEndpoint, milvus_process, milvus_server  # noqa: F401 - a fixture.
from tests.stores.test_backends_e2e import backend_env, localmind, plain_env

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="function")]


async def status(client: LanguageClient) -> dict[str, Any]:
    params = types.ExecuteCommandParams(command="localmind.status", arguments=[])
    result: dict[str, Any] = await client.workspace_execute_command_async(params)
    return result


async def wait_until(
    client: LanguageClient, condition: Callable[[dict[str, Any]], bool], timeout: float, poll: float = 0.1
) -> dict[str, Any]:
    """Poll localmind.status until the condition holds; the last status when it does."""
    async with asyncio.timeout(timeout):
        while True:
            current = await status(client)
            if condition(current):
                return current
            await asyncio.sleep(poll)


def breaker_state(current: dict[str, Any], backend: str) -> str:
    return str(current.get("breakers", {}).get(backend, {}).get("state", "closed"))


async def timed_hover(client: LanguageClient, uri: str, position: types.Position) -> tuple[float, types.Hover | None]:
    started = time.perf_counter()
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    return (time.perf_counter() - started) * 1000, result


def card_text(card: types.Hover | None) -> str:
    """A hover's Markdown ("" for no card)."""
    if card is None:
        return ""
    return card.contents.value if isinstance(card.contents, types.MarkupContent) else str(card.contents)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def open_document(client: LanguageClient, path: Path, language: str) -> str:
    uri = path.as_uri()
    item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=path.read_text())
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    return uri


async def test_neo4j_stopped_mid_index_then_restarted(
    tmp_path: Path,
    model_cache: Path,
    embedder: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    if neo4j_server.server is None:
        pytest.skip("an external Neo4j cannot be stopped by the tests")
    root = (tmp_path / "ws").resolve()
    make_corpus(root, files=140)
    env = backend_env(plain_env(tmp_path, "neo4j-fault", model_cache), neo4j_server, milvus_server)
    env.update(
        LOCALMIND_VECTORS__BACKEND="embedded",  # Only the graph server here; Milvus has its own test.
        LOCALMIND_GRAPH__ACQUISITION_TIMEOUT="2",
        LOCALMIND_RESILIENCE__NEO4J__TIMEOUT="2",
        LOCALMIND_RESILIENCE__NEO4J__FAILURE_THRESHOLD="3",
        LOCALMIND_RESILIENCE__NEO4J__RESET_TIMEOUT="1",
    )
    client = await start_client(root, env)
    try:
        await wait_until(client, lambda s: s.get("indexing", {}).get("files_done", 0) >= 10, timeout=300, poll=0.05)
        uri = open_document(client, root / "area0" / "module0.py", "python")
        position = types.Position(line=0, character=6)
        server = neo4j_server.server
        stopped = time.monotonic()
        stopping = asyncio.ensure_future(asyncio.to_thread(server.stop))  # Hovers go on while it shuts down.
        latencies: list[float] = []
        cards_while_down: list[types.Hover | None] = []  # Hovers asked after the server had stopped.
        opened_after = None
        while not stopping.done() or time.monotonic() - stopped < 5.0 or opened_after is None or not cards_while_down:
            down = stopping.done()
            latency, card = await timed_hover(client, uri, position)
            latencies.append(latency)
            if down:
                cards_while_down.append(card)
            if opened_after is None and breaker_state(await status(client), "neo4j") == "open":
                opened_after = time.monotonic() - stopped
            # A deadline for events that must come, not a speed: the stop ends and the breaker opens.
            assert time.monotonic() - stopped < 90, (
                f"90 s after the stop began: the stop {'ended' if stopping.done() else 'never ended'}, "
                f"the breaker {'opened' if opened_after is not None else 'never opened'}"
            )
            await asyncio.sleep(0.02)
        await stopping
        down_after = time.monotonic() - stopped
        degraded = await status(client)
        assert degraded["health"] == "degraded" and "graph unavailable since" in degraded["summary"], degraded
        restarted = time.monotonic()
        await asyncio.to_thread(server.start)
        answering_after = time.monotonic() - restarted
        recovered = await wait_until(
            client,
            lambda s: (
                not s["indexing"]["running"]
                and s["backends"]["graph"].get("pending") == 0
                and breaker_state(s, "neo4j") == "closed"
            ),
            timeout=300,
            poll=0.2,
        )
        recovered_after = time.monotonic() - restarted - answering_after
        assert recovered["health"] == "ok", recovered
        _, card = await timed_hover(client, uri, position)
        assert card is not None
    finally:
        await client.shutdown_session()
    report = json.loads(localmind(["verify", "--json"], env, root, check=False).stdout)
    print(
        f"\nneo4j stopped mid-index: breaker open {opened_after:.2f} s after the stop began (the stop took "
        f"{down_after:.1f} s); {len(latencies)} hovers meanwhile, p99 {p99(latencies):.0f} ms, max "
        f"{max(latencies):.0f} ms; restart took {answering_after:.1f} s, then journal replayed and breaker closed "
        f"in {recovered_after:.1f} s; verify: {report['neo4j']}"
    )
    assert report["neo4j"]["clean"] and report["neo4j"]["pending"] == 0 and report["neo4j"]["files"] == 140
    # The server kept answering hovers while Neo4j was down, each with a card from the other signals.
    assert cards_while_down and all(card is not None for card in cards_while_down), cards_while_down


async def test_milvus_frozen_for_ten_seconds(
    tmp_path: Path,
    model_cache: Path,
    embedder: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    process = milvus_process()
    if process is None:
        pytest.skip("an external Milvus cannot be frozen by the tests")
    root = (tmp_path / "ws").resolve()
    shutil.copytree(FIXTURE_WORKSPACE, root)
    env = backend_env(plain_env(tmp_path, "milvus-fault", model_cache), neo4j_server, milvus_server)
    env.update(
        LOCALMIND_GRAPH__BACKEND="sqlite",  # Only the vector server here.
        LOCALMIND_VECTORS__TIMEOUT="2",
        LOCALMIND_RESILIENCE__MILVUS__TIMEOUT="1.5",
        LOCALMIND_RESILIENCE__MILVUS__RESET_TIMEOUT="2",
    )
    client = await start_client(root, env)
    try:
        await wait_for_index(client)
        uri = open_document(client, root / "src" / "config_loader.py", "python")
        line = next(
            i for i, text in enumerate((root / "src" / "config_loader.py").read_text().splitlines()) if "def " in text
        )
        position = types.Position(line=line, character=6)
        baseline = [(await timed_hover(client, uri, position))[0] for _ in range(20)]

        process.freeze()
        frozen = time.monotonic()
        try:
            search = types.ExecuteCommandParams(command="localmind.search", arguments=[{"query": "load the config"}])
            started = time.monotonic()
            hits = await client.workspace_execute_command_async(search)
            search_seconds = time.monotonic() - started  # Reported, not asserted: see last_error below.
            assert hits, "search answers from the other signals while Milvus is frozen"
            assert all("vectors" in hit.get("degraded", []) for hit in hits)
            latencies: list[float] = []
            cards: list[types.Hover | None] = []
            opened_after = None
            while time.monotonic() - frozen < 10.0:  # How long the fault lasts, not a limit.
                latency, card = await timed_hover(client, uri, position)
                latencies.append(latency)
                cards.append(card)
                if opened_after is None and breaker_state(await status(client), "milvus") == "open":
                    opened_after = time.monotonic() - frozen
                await asyncio.sleep(0.02)
            during = await status(client)
        finally:
            process.thaw()
        thawed = time.monotonic()
        assert during["backends"]["vectors"]["state"] == "degraded" and "vectors unavailable" in during["summary"]
        while True:  # Hovers keep coming; one of them is the half-open trial that closes the breaker.
            await timed_hover(client, uri, position)
            current = await status(client)
            if breaker_state(current, "milvus") == "closed" and current["health"] == "ok":
                break
            # A deadline for an event that must come, not a speed.
            assert time.monotonic() - thawed < 60, f"60 s after SIGCONT, Milvus never came back: {current['breakers']}"
            await asyncio.sleep(0.1)
        recovered_after = time.monotonic() - thawed
        hits = await client.workspace_execute_command_async(search)
        assert hits and not any(hit.get("degraded") for hit in hits)
    finally:
        await client.shutdown_session()
    print(
        f"\nmilvus frozen 10 s: first search ended after {search_seconds:.2f} s (timeout 1.5 s); breaker open after "
        f"{opened_after if opened_after is None else round(opened_after, 2)} s; {len(latencies)} hovers during "
        f"the freeze ({sum(card is not None for card in cards)} with a card), p99 {p99(latencies):.0f} ms "
        f"(before: {p99(baseline):.0f} ms); recovered {recovered_after:.1f} s after SIGCONT"
    )
    # The frozen server's calls ended at the configured timeout (resilience.milvus.timeout), not later.
    assert "within 1.5 s" in str(during["breakers"]["milvus"]["last_error"]), during["breakers"]["milvus"]
    assert opened_after is not None, "the breaker did not open while Milvus was frozen"
    # Every hover asked while Milvus was frozen was answered, with a card from the other signals that says so
    # (the search before them had already found Milvus unavailable).
    assert all("vector search unavailable" in card_text(card) for card in cards), [card_text(c) for c in cards]
