"""A client like Emacs's eglot without markdown-mode: it renders hover as plain text only and declares no
work-done progress. It gets plain-text cards, and the first indexing pass runs without a progress token but
with messages: when every file is searchable, and when the pass ends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.helpers import start_client
from tests.lsp.test_e2e import position_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


def plain_text_only(capabilities: types.ClientCapabilities) -> None:
    assert capabilities.text_document is not None and capabilities.window is not None
    capabilities.text_document.hover = types.HoverClientCapabilities(content_format=[types.MarkupKind.PlainText])
    capabilities.window.work_done_progress = False


async def status(client: LanguageClient) -> dict[str, Any]:
    params = types.ExecuteCommandParams(command="localmind.status", arguments=[])
    result: dict[str, Any] = await client.workspace_execute_command_async(params)
    return result


async def test_plain_text_hover_without_progress(lsp_root: Path, lsp_env: dict[str, str]) -> None:
    client = await start_client(lsp_root, lsp_env, adjust=plain_text_only)
    try:
        async with asyncio.timeout(300):
            while (await status(client)).get("indexing", {}).get("runs", 0) < 1:
                await asyncio.sleep(0.2)
        assert client.progress_reports == {}, "no progress without the capability"
        said = [message.message for message in client.messages]
        assert any("every file is searchable by words and links" in text for text in said), said
        assert any(text.startswith("Local Mind: Indexed") for text in said), said
        note = lsp_root / "notes" / "architecture.md"
        params = types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=note.as_uri()), position=position_of(note, "parse_config")
        )
        hover = await client.text_document_hover_async(params)
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.kind == types.MarkupKind.PlainText
        card = hover.contents.value
        assert card.startswith("parse_config") and "src/config_loader.py:12" in card
        assert not any(mark in card for mark in ("**", "\\_", "](", "`")), card
    finally:
        await client.shutdown_session()
