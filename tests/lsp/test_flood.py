"""A flood from one client: 2,000 hovers and 200 chat requests within a few seconds. The server stays
up, refuses the excess (chat with the rate-limit error, hover with an empty answer), answers the rest,
and its memory stays bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.helpers import start_client, wait_for_index

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOVERS = 2000
ASKS = 200
# Generous limits for hover, the defaults for chat (60 a minute, burst 10).
LIMITS = {"hover": {"per_minute": 6000, "burst": 200}, "chat": {"per_minute": 60, "burst": 10}}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def hover(client: LanguageClient, uri: str, position: types.Position) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )


async def ask(client: LanguageClient, n: int) -> Any:
    params = types.ExecuteCommandParams(command="localmind.ask", arguments=[{"question": f"how is config loaded {n}"}])
    try:
        return await client.workspace_execute_command_async(params)
    except JsonRpcException as exc:
        return exc


async def test_a_flood_is_refused_in_part_and_the_server_stays_up(lsp_root: Path, lsp_env: dict[str, str]) -> None:
    client = await start_client(lsp_root, lsp_env, options={"limits": LIMITS})
    try:
        await wait_for_index(client)
        pid = client._server.pid  # type: ignore[union-attr]
        uri = (lsp_root / "src" / "config_loader.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=(lsp_root / "src" / "config_loader.py").read_text()
                )
            )
        )
        line = next(
            i
            for i, text in enumerate((lsp_root / "src" / "config_loader.py").read_text().splitlines())
            if "def " in text
        )
        position = types.Position(line=line, character=6)
        assert await hover(client, uri, position) is not None  # A card exists at this position.
        before = rss_mib(pid)

        started = time.monotonic()
        hovers = [hover(client, uri, position) for _ in range(HOVERS)]
        asks = [ask(client, n) for n in range(ASKS)]
        results = await asyncio.wait_for(asyncio.gather(*hovers, *asks), timeout=300)
        elapsed = time.monotonic() - started
        peak = rss_mib(pid)

        hover_results, ask_results = results[:HOVERS], results[HOVERS:]
        cards = sum(1 for r in hover_results if r is not None)
        refused_asks = [r for r in ask_results if isinstance(r, JsonRpcException)]
        answered_asks = [r for r in ask_results if isinstance(r, dict) and "answer" in r]
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="localmind.status", arguments=[])
        )
        print(
            f"\nflood: {HOVERS} hovers + {ASKS} asks in {elapsed:.1f} s; hover cards {cards}, "
            f"hovers refused {status['rate_limited'].get('hover', 0)}; asks answered {len(answered_asks)}, "
            f"refused {len(refused_asks)}; server RSS {before:.0f} → {peak:.0f} MiB"
        )
        assert len(answered_asks) + len(refused_asks) == ASKS
        assert 10 <= len(answered_asks) <= 10 + int(elapsed) + 2  # The burst, plus one a second.
        assert all("rate limited, retry after" in str(r) for r in refused_asks)
        assert cards >= 200  # The hover burst was answered...
        assert status["rate_limited"]["hover"] == HOVERS - cards  # ...and the rest refused with no card.
        assert status["rate_limited"]["chat"] == len(refused_asks)
        assert peak - before < 150, "memory grew with the flood"
        await asyncio.sleep(1.0)  # The buckets refill...
        assert await hover(client, uri, position) is not None  # ...and the server answers as before.
    finally:
        await client.shutdown_session()


async def test_a_flood_of_saves_and_changes_coalesces_into_few_runs(lsp_root: Path, lsp_env: dict[str, str]) -> None:
    client = await start_client(lsp_root, lsp_env)
    try:
        await wait_for_index(client)
        pid = client._server.pid  # type: ignore[union-attr]
        path = lsp_root / "notes" / "design.md"
        uri, text = path.as_uri(), path.read_text()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=1, text=text)
            )
        )
        before = rss_mib(pid)
        for version in range(2, 3002):
            change = types.TextDocumentContentChangeWholeDocument(text=f"{text}\nedit {version}\n")
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[change],
                )
            )
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="localmind.status", arguments=[])
        )
        await asyncio.sleep(1.0)
        async with asyncio.timeout(120):
            while True:
                status = await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(command="localmind.status", arguments=[])
                )
                if not status["indexing"]["running"]:
                    break
                await asyncio.sleep(0.2)
        runs = status["indexing"]["runs"] - 1  # The first run indexed the workspace.
        after = rss_mib(pid)
        print(f"\n3,000 changes + 3,000 saves: {runs} extra indexing run(s); server RSS {before:.0f} → {after:.0f} MiB")
        assert 1 <= runs <= 3
        assert after - before < 100
    finally:
        await client.shutdown_session()
