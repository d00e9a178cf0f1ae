"""The encoder graph uses ONNX Runtime's fused transformer operators, and fusing changes no vector."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from localmind.config import EmbeddingsSettings
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.embeddings.manifest import ModelSpec, load_catalog
from localmind.embeddings.onnx_builder import CONTRIB_DOMAIN, build_bert_graph
from localmind.embeddings.source import source_folder
from localmind.embeddings.tokenize import TextTokenizer

LAYERS = 6  # all-MiniLM-L6-v2


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return load_catalog().get("all-MiniLM-L6-v2")


def operators(model_path: Path) -> Counter[tuple[str, str]]:
    graph = onnx.load(str(model_path), load_external_data=False).graph
    return Counter((node.domain or "ai.onnx", node.op_type) for node in graph.node)


def test_each_layer_is_one_attention_two_skip_layer_norms_and_a_bias_gelu(fp32: OnnxEmbedder) -> None:
    counts = operators(fp32.files.onnx_path)
    assert counts[CONTRIB_DOMAIN, "Attention"] == LAYERS
    assert counts[CONTRIB_DOMAIN, "SkipLayerNormalization"] == 2 * LAYERS
    assert counts[CONTRIB_DOMAIN, "BiasGelu"] == LAYERS
    assert counts["ai.onnx", "Softmax"] == 0 and counts["ai.onnx", "Erf"] == 0, "nothing is left decomposed"


def test_int8_quantises_the_attention_weights_too(int8: OnnxEmbedder) -> None:
    counts = operators(int8.files.onnx_path)
    assert counts[CONTRIB_DOMAIN, "QAttention"] == LAYERS
    assert counts[CONTRIB_DOMAIN, "Attention"] == 0


def test_the_fused_graph_gives_the_standard_graphs_vectors(
    fp32: OnnxEmbedder, spec: ModelSpec, model_cache: Path, reference: tuple[list[str], np.ndarray]
) -> None:
    source = source_folder(spec, model_cache)
    standard = build_bert_graph(source / "model.safetensors", source / "config.json", "mean", True, fused=False)
    assert not [node for node in standard.graph.node if node.domain == CONTRIB_DOMAIN]
    session = ort.InferenceSession(standard.SerializeToString(), providers=["CPUExecutionProvider"])
    tokenizer = TextTokenizer(source / "tokenizer.json", spec.max_tokens)
    texts = reference[0][:24]  # Mixed lengths, one beyond 256 tokens: padding and truncation both occur.
    tokens = tokenizer.encode_batch(texts)
    width = max(len(t.ids) for t in tokens)
    ids, mask = np.zeros((len(tokens), width), np.int64), np.zeros((len(tokens), width), np.int64)
    for row, item in enumerate(tokens):
        ids[row, : len(item.ids)], mask[row, : len(item.ids)] = item.ids, 1
    expected = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    np.testing.assert_allclose(fp32.embed_documents(texts), expected, atol=2e-6)


def test_fp16_keeps_the_references_vectors(model_cache: Path, reference: tuple[list[str], np.ndarray]) -> None:
    """The float16 graph is for GPUs; ONNX Runtime's CPU provider runs it through inserted casts, which is
    enough to prove that halving the weights and the arithmetic keeps the vectors."""
    half = load_embedder(EmbeddingsSettings(variant="fp16", cache_dir=model_cache))
    model = onnx.load(str(half.files.onnx_path))
    types = Counter(tensor.data_type for tensor in model.graph.initializer)
    assert types[onnx.TensorProto.FLOAT16] > types[onnx.TensorProto.FLOAT], "the weights are float16"
    texts, expected = reference
    actual = half.embed_documents(texts)
    assert actual.dtype == np.float32
    similarity = (actual * expected).sum(axis=1)
    assert similarity.min() >= 0.9999
