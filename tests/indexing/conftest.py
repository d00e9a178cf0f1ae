"""Fixtures for indexing: a copy of the fixture workspace, and an indexer writing into a temporary data dir."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer, IndexReport
from localmind.indexing.workspace import Workspace, open_workspace
from localmind.stores.sqlite_store import SqliteStore

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


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
def indexed(workspace_dir: Path, run_index: RunIndex) -> tuple[IndexReport, SqliteStore]:
    report, workspace = run_index(workspace_dir)
    store = SqliteStore(workspace.store_path)
    yield report, store
    store.close()
