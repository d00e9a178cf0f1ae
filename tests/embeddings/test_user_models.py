"""A user's own model folder (model.onnx + tokenizer.json + localmind-model.toml) works like a known model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from localmind.config import EmbeddingsSettings
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.embeddings.manifest import load_catalog
from localmind.embeddings.onnx_builder import TOKEN_OUTPUT, build_bert_graph
from localmind.embeddings.runtime import _pool
from localmind.embeddings.source import source_folder
from localmind.errors import ModelError

USER_MANIFEST = """
name = "my-minilm"
dimensions = 384
max_tokens = 256
pooling = "mean"
normalize = true
"""


@pytest.fixture(scope="module")
def token_state_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same encoder exported the way optimum does: it stops at the token states, pooling is declared."""
    spec = load_catalog().get("all-MiniLM-L6-v2")
    weights = source_folder(spec, tmp_path_factory.mktemp("cache"))
    folder = tmp_path_factory.mktemp("user-model")
    graph = build_bert_graph(weights / "model.safetensors", weights / "config.json", pooling=None, normalize=False)
    assert graph.graph.output[0].name == TOKEN_OUTPUT
    onnx.save(graph, str(folder / "model.onnx"))
    shutil.copyfile(weights / "tokenizer.json", folder / "tokenizer.json")
    (folder / "localmind-model.toml").write_text(USER_MANIFEST)
    return folder


def test_declared_pooling_reproduces_the_reference(
    token_state_model: Path, reference: tuple[list[str], np.ndarray]
) -> None:
    embedder = load_embedder(EmbeddingsSettings(model_dir=token_state_model))
    texts, expected = reference
    actual = embedder.embed_documents(texts)
    assert embedder.model_id == "my-minilm:custom"
    assert (actual * expected).sum(axis=1).min() >= 0.9999


def test_a_prefixed_model_adds_its_query_and_document_prefixes(token_state_model: Path, tmp_path: Path) -> None:
    """e5-style models read 'query: ' and 'passage: ' prefixes; the manifest declares them."""
    folder = tmp_path / "e5-like"
    shutil.copytree(token_state_model, folder)
    manifest = USER_MANIFEST + 'query_prefix = "query: "\ndocument_prefix = "passage: "\n'
    (folder / "localmind-model.toml").write_text(manifest)
    prefixed = load_embedder(EmbeddingsSettings(model_dir=folder))
    plain = load_embedder(EmbeddingsSettings(model_dir=token_state_model))
    np.testing.assert_allclose(prefixed.embed_query("cats"), plain.embed_documents(["query: cats"])[0], atol=1e-6)
    passage = plain.embed_documents(["passage: cats"])[0]
    np.testing.assert_allclose(prefixed.embed_documents(["cats"])[0], passage, atol=1e-6)


def test_wrong_declared_dimensions_are_refused(token_state_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wrong-dims"
    shutil.copytree(token_state_model, folder)
    (folder / "localmind-model.toml").write_text(USER_MANIFEST.replace("384", "768"))
    with pytest.raises(ModelError, match=r"384-dimensional.*says 768"):
        load_embedder(EmbeddingsSettings(model_dir=folder))


@pytest.mark.parametrize(
    ("missing", "message"), [("tokenizer.json", "no tokenizer.json"), ("localmind-model.toml", "no localmind-model")]
)
def test_incomplete_user_folders_name_what_is_missing(
    token_state_model: Path, tmp_path: Path, missing: str, message: str
) -> None:
    folder = tmp_path / "incomplete"
    shutil.copytree(token_state_model, folder)
    (folder / missing).unlink()
    with pytest.raises(ModelError, match=message):
        load_embedder(EmbeddingsSettings(model_dir=folder))


def test_an_invalid_user_manifest_is_reported(token_state_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bad-manifest"
    shutil.copytree(token_state_model, folder)
    (folder / "localmind-model.toml").write_text(USER_MANIFEST.replace('"mean"', '"max"'))
    with pytest.raises(ModelError, match=r"localmind-model\.toml is invalid"):
        load_embedder(EmbeddingsSettings(model_dir=folder))


def test_cls_and_mean_pooling_arithmetic() -> None:
    spec = load_catalog().get("all-MiniLM-L6-v2")
    hidden = np.array([[[3.0, 4.0], [1.0, 0.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    mean = _pool(hidden, mask, spec.model_copy(update={"normalize": False}))
    np.testing.assert_allclose(mean, [[2.0, 2.0]])
    cls = _pool(hidden, mask, spec.model_copy(update={"pooling": "cls"}))
    np.testing.assert_allclose(cls, [[0.6, 0.8]])


def test_an_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelError, match="knows: all-MiniLM-L6-v2"):
        load_embedder(EmbeddingsSettings(model="bge-huge"))


def test_the_shared_embedder_is_one_per_process(fp32: OnnxEmbedder, model_cache: Path) -> None:
    assert load_embedder(EmbeddingsSettings(variant="fp32", cache_dir=model_cache)) is fp32


def test_embedders_differing_only_in_batch_size_share_one_session(fp32: OnnxEmbedder, model_cache: Path) -> None:
    other = load_embedder(EmbeddingsSettings(variant="fp32", cache_dir=model_cache, batch_size=64))
    assert other is not fp32 and other.batch_size == 64 and fp32.batch_size == 16
    assert other._session is fp32._session
    np.testing.assert_allclose(other.embed_documents(["shared"]), fp32.embed_documents(["shared"]), atol=1e-6)
