"""A real `localmind serve` subprocess over stdio, driven by pytest-lsp, on a copy of the fixture workspace."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pytest_lsp import LanguageClient

from localmind.embeddings import OnnxEmbedder
from tests.lsp.helpers import server_env, start_client, wait_for_index

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


@pytest.fixture(scope="module")
def lsp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp") / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    (root / "notes" / "broken.md").write_text("# Broken\n\nSee [[architecture]] and [[no-such-note]].\n")
    return root.resolve()


@pytest.fixture(scope="module")
def lsp_env(embedder: OnnxEmbedder, model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The server's environment; depending on embedder makes sure the model is built before it starts."""
    return server_env(model_cache, tmp_path_factory.mktemp("lsp-data"), tmp_path_factory.mktemp("lsp-config"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(lsp_root: Path, lsp_env: dict[str, str]) -> AsyncIterator[LanguageClient]:
    client = await start_client(lsp_root, lsp_env)
    await wait_for_index(client)
    yield client
    await client.shutdown_session()
