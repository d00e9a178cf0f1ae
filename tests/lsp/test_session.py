"""Settings, workspace folders and change floods, each on a fresh `localmind serve` subprocess."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from localmind.embeddings import OnnxEmbedder
from tests.indexing.test_crash_safety import make_corpus
from tests.lsp.helpers import index_ends, server_env, start_client, wait_for_index

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"
Starter = Callable[..., Any]
BAD_K = {"retrieval": {"default_k": -5}}
pytestmark = pytest.mark.asyncio


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, copy)
    return copy.resolve()


@pytest_asyncio.fixture()
async def start(embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path) -> AsyncIterator[Starter]:
    """Starts servers on demand (each with its own data folder) and shuts them all down afterwards."""
    clients: list[LanguageClient] = []
    env = server_env(model_cache, tmp_path / "data", tmp_path / "config")

    async def starter(folder: Path, options: dict[str, Any] | None = None, **configuration: Any) -> LanguageClient:
        client = await start_client(folder, env, options, configuration or None)
        clients.append(client)
        await wait_for_index(client)
        return client

    yield starter
    for client in clients:
        await client.shutdown_session()


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def test_invalid_editor_settings_fall_back_with_a_message(start: Starter, root: Path) -> None:
    client = await start(root, {"retrieval": {"default_k": -5}, "indexing": {"chunk_tokens": "many"}})
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("retrieval.default_k" in m and "indexing.chunk_tokens" in m for m in warnings), warnings
    status = await command(client, "localmind.status")
    assert "retrieval.default_k" in status["settings_problem"]
    assert len(await command(client, "localmind.search", {"query": "configuration"})) == 10, "defaults apply"


async def test_the_same_invalid_settings_pulled_again_are_not_shown_again(start: Starter, root: Path) -> None:
    """eglot sends didChangeConfiguration right after `initialized`: the same problem is told once."""
    client = await start(root, {"retrieval": {"default_k": -5}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    status = await command(client, "localmind.status")  # Answered after the change was handled.
    assert "retrieval.default_k" in status["settings_problem"]
    warnings = [m.message for m in client.messages if "retrieval.default_k" in m.message]
    assert len(warnings) == 1, warnings


async def test_settings_are_pulled_and_pulled_again_on_change(start: Starter, root: Path) -> None:
    client = await start(root, {"retrieval": {"default_k": 7}}, localmind={"retrieval": {"default_k": 2}})
    assert len(await command(client, "localmind.search", {"query": "configuration"})) == 2, "pulled wins"
    client.set_configuration({"retrieval": {"default_k": 4}}, section="localmind")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    async with asyncio.timeout(30):
        while len(await command(client, "localmind.search", {"query": "configuration"})) != 4:
            await asyncio.sleep(0.1)


async def test_settings_changed_during_a_run_while_saves_arrive_never_fail_indexing(start: Starter, root: Path) -> None:
    """A new service replaces the old one while its run goes on and saves keep asking for re-indexes: none
    may reach the old service's executors once it started closing ("cannot schedule new futures")."""
    client = await start(root, localmind={"retrieval": {"default_k": 3}})
    make_corpus(root / "bulk", files=120)  # A run of several seconds.
    note = root / "notes" / "design.md"

    def save(text: str) -> None:
        note.write_text(text)
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=note.as_uri()))
        )

    save("# Design\n\nFirst revision.\n")
    async with asyncio.timeout(60):
        while not (await command(client, "localmind.status"))["indexing"]["running"]:
            await asyncio.sleep(0.02)
    client.set_configuration({"retrieval": {"default_k": 6}}, section="localmind")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    for n in range(100):  # While the old service closes (it waits for its run to end).
        save(f"# Design\n\nRevision {n}.\n")
        await asyncio.sleep(0.03)
    async with asyncio.timeout(180):
        while len(await command(client, "localmind.search", {"query": "configuration"})) != 6:
            await asyncio.sleep(0.1)
        while (await command(client, "localmind.status"))["indexing"]["running"]:
            await asyncio.sleep(0.1)
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert not errors, errors
    assert not any("failed" in str(end.message) for end in index_ends(client)), index_ends(client)


async def test_a_flood_of_saves_is_coalesced(start: Starter, root: Path) -> None:
    client = await start(root)
    note = root / "notes" / "design.md"
    for n in range(300):
        note.write_text(f"# Design\n\nRevision {n} of the principles.\n")
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=note.as_uri()))
        )
    await wait_for_index(client, runs=2, timeout=60)
    await asyncio.sleep(1.0)  # Any run still owed to the flood starts within this time.
    async with asyncio.timeout(60):
        while (await command(client, "localmind.status"))["indexing"]["running"]:
            await asyncio.sleep(0.1)
    runs = len(index_ends(client))
    assert 2 <= runs <= 4, f"{runs} indexing runs for 300 saves"
    hits = await command(client, "localmind.search", {"query": "Revision 299 of the principles", "k": 1})
    assert hits[0]["path"] == "notes/design.md" and "299" in hits[0]["snippet"]


async def test_an_added_workspace_folder_is_indexed_and_searched(start: Starter, root: Path, tmp_path: Path) -> None:
    client = await start(root)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "zebras.md").write_text("# Zebras\n\nStriped zebras graze on the savanna in herds.\n")
    folder = types.WorkspaceFolder(uri=extra.as_uri(), name="extra")
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[]))
    )
    await wait_for_index(client, runs=2, timeout=120)
    status = await command(client, "localmind.status")
    assert set(status["roots"]) == {str(root), str(extra.resolve())}
    hits = await command(client, "localmind.search", {"query": "striped animals on the savanna", "k": 1})
    assert hits[0]["uri"] == (extra / "zebras.md").resolve().as_uri()


async def test_settings_sent_again_right_after_initialized_build_one_service(
    embedder: OnnxEmbedder, model_cache: Path, tmp_path: Path, root: Path
) -> None:
    """eglot sends workspace/didChangeConfiguration right after `initialized`. Both reconfigurations used to
    apply at once on two threads: each built a service (one was never closed), each showed the settings'
    problem, and the second asked for another run, which cut the first pass short before phase 2. They now
    run one after the other, and the second finds the service the first built, with the same settings."""
    client = await start_client(root, server_env(model_cache, tmp_path / "data", tmp_path / "config"), BAD_K)
    try:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await wait_for_index(client)
        async with asyncio.timeout(60):
            while (status := await command(client, "localmind.status"))["indexing"]["running"]:
                await asyncio.sleep(0.1)
        warnings = [m.message for m in client.messages if "retrieval.default_k" in m.message]
        assert len(warnings) == 1, warnings
        assert status["indexing"]["runs"] == 1, [end.message for end in index_ends(client)]
        assert "wait for the next pass" not in str(index_ends(client)[0].message), index_ends(client)
    finally:
        await client.shutdown_session()
