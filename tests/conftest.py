"""Shared fixtures: a model cache for the whole test session and embedders built from real weights."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from localmind.config import EmbeddingsSettings, IndexingSettings
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.indexing.pipeline import Indexer, IndexReport
from localmind.indexing.workspace import Workspace, open_workspace
from localmind.stores.sqlite_store import SqliteStore

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's own settings or LOCALMIND_* variables."""
    for name in list(__import__("os").environ):
        if name.startswith("LOCALMIND_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session, so each variant is built once from the verified weights."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def fp32(model_cache: Path) -> OnnxEmbedder:
    return load_embedder(EmbeddingsSettings(variant="fp32", cache_dir=model_cache))


@pytest.fixture(scope="session")
def int8(model_cache: Path) -> OnnxEmbedder:
    return load_embedder(EmbeddingsSettings(variant="int8", cache_dir=model_cache))


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> OnnxEmbedder:
    """The default variant's embedder; a test that starts `localmind` in a child process requests it so the
    model the child will load is built in model_cache first."""
    return load_embedder(EmbeddingsSettings(cache_dir=model_cache))


@pytest.fixture(scope="session")
def reference() -> tuple[list[str], np.ndarray]:
    """sentence-transformers' own embeddings of 59 varied texts (see fixtures/minilm-reference/README.md)."""
    folder = FIXTURES / "minilm-reference"
    lines = (folder / "texts.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    return texts, np.load(folder / "reference.npy")


FIXTURE_WORKSPACE = FIXTURES / "workspace"


@pytest.fixture()
def workspace_dir(tmp_path: Path) -> Path:
    """The fixture workspace plus the files git would not keep: ignored output and a secrets file."""
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    (root / "build").mkdir()
    (root / "build" / "output.txt").write_text("generated output\n")
    (root / "debug.log").write_text("debug noise\n")
    (root / ".env").write_text("SECRET_TOKEN=abc123abc123abc123\n")
    return root


RunIndex = Callable[..., tuple[IndexReport, Workspace]]


@pytest.fixture()
def run_index(fp32: OnnxEmbedder, tmp_path: Path) -> RunIndex:
    def run(*roots: Path, **settings: object) -> tuple[IndexReport, Workspace]:
        indexing = IndexingSettings(data_dir=tmp_path / "data", **settings)
        workspace = open_workspace(list(roots), indexing)
        return Indexer(workspace, indexing, fp32).run(), workspace

    return run


@pytest.fixture()
def indexed(workspace_dir: Path, run_index: RunIndex) -> Iterator[tuple[IndexReport, SqliteStore]]:
    report, workspace = run_index(workspace_dir)
    store = SqliteStore(workspace.store_path)
    yield report, store
    store.close()
