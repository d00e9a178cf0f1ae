"""Shared fixtures: a model cache for the whole test session and embedders built from real weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from localmind.config import EmbeddingsSettings
from localmind.embeddings import OnnxEmbedder, load_embedder

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
def reference() -> tuple[list[str], np.ndarray]:
    """sentence-transformers' own embeddings of 59 varied texts (see fixtures/minilm-reference/README.md)."""
    folder = FIXTURES / "minilm-reference"
    lines = (folder / "texts.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    return texts, np.load(folder / "reference.npy")
