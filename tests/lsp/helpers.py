"""Helpers for driving `localmind serve` with pytest-lsp: a client that keeps partial results, the server's
environment, and waiting for indexing runs to end."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities, make_test_lsp_client

SERVER_COMMAND = [sys.executable, "-m", "localmind", "serve"]
INDEX_TIMEOUT = 180


def make_client() -> LanguageClient:
    """pytest-lsp's client, whose $/progress handler also keeps partial results (lists, or objects with no
    work-done `kind`) by token."""
    client = make_test_lsp_client()
    original = client.protocol.fm.features[types.PROGRESS]
    partial: dict[Any, list[Any]] = {}
    client.partial_results = partial  # type: ignore[attr-defined]

    def progress(params: types.ProgressParams) -> None:
        if isinstance(params.value, list):
            partial.setdefault(params.token, []).extend(params.value)
        elif isinstance(params.value, dict) and "kind" not in params.value:
            partial.setdefault(params.token, []).append(params.value)
        else:
            original(params)

    client.protocol.fm.features[types.PROGRESS] = progress
    return client


def server_env(model_cache: Path, data_dir: Path, config_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    env.update(
        LOCALMIND_EMBEDDINGS__CACHE_DIR=str(model_cache),
        LOCALMIND_INDEXING__DATA_DIR=str(data_dir),
        XDG_CONFIG_HOME=str(config_home),
    )
    return env


def index_ends(client: LanguageClient) -> list[types.WorkDoneProgressEnd]:
    return [
        value
        for reports in client.progress_reports.values()
        for value in reports
        if isinstance(value, types.WorkDoneProgressEnd)
    ]


async def wait_for_index(client: LanguageClient, runs: int = 1, timeout: float = INDEX_TIMEOUT) -> None:
    """Until `runs` indexing runs have sent their progress `end`."""
    async with asyncio.timeout(timeout):
        while len(index_ends(client)) < runs:
            await asyncio.sleep(0.05)


async def wait_until_embedded(client: LanguageClient, timeout: float = INDEX_TIMEOUT) -> None:
    """Until no indexing run is going and every chunk has its vector: a run's phase 2 yields to a run that
    waits (a save and the file watcher can queue two), so one run's end does not mean meaning search is
    complete."""
    async with asyncio.timeout(timeout):
        while True:
            status = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="localmind.status")
            )
            if not status["indexing"]["running"] and status["index"]["dense_coverage"] >= 1.0:
                return
            await asyncio.sleep(0.1)


async def start_client(
    root: Path,
    env: dict[str, str],
    options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    adjust: Callable[[types.ClientCapabilities], None] | None = None,
) -> LanguageClient:
    """A started, initialised client; `configuration` is what it answers to workspace/configuration, and
    `adjust` changes the capabilities it declares (VS Code's by default)."""
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=env, client_factory=make_client)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    for section, value in (configuration or {}).items():
        client.set_configuration(value, section=section)
    capabilities = client_capabilities("visual-studio-code")
    if adjust is not None:
        adjust(capabilities)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options,
        )
    )
    return client
