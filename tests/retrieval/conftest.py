"""A searcher over the fixture workspace, indexed once per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from localmind.config import IndexingSettings, RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.workspace import open_workspace
from localmind.retrieval import Searcher
from localmind.stores.sqlite_store import SqliteStore

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search") / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    return root


@pytest.fixture(scope="module")
def indexing_settings(tmp_path_factory: pytest.TempPathFactory) -> IndexingSettings:
    return IndexingSettings(data_dir=tmp_path_factory.mktemp("search-data"))


@pytest.fixture(scope="module")
def searcher(fixture_root: Path, fp32: OnnxEmbedder, indexing_settings: IndexingSettings) -> Iterator[Searcher]:
    settings = indexing_settings
    workspace = open_workspace([fixture_root], settings)
    Indexer(workspace, settings, fp32).run()
    searcher = Searcher(SqliteStore(workspace.store_path), fp32, RetrievalSettings())
    yield searcher
    searcher.close()
    searcher.store.close()
