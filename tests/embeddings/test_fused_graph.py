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
from localmind.embeddings.providers import choose_providers
from localmind.embeddings.runtime import disabled_fusions
from localmind.embeddings.source import source_folder
from localmind.embeddings.tokenize import TextTokenizer

LAYERS = 6  # all-MiniLM-L6-v2


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return load_catalog().get("all-MiniLM-L6-v2")


def operators(model_path: Path) -> Counter[tuple[str, str]]:
    graph = onnx.load(str(model_path), load_external_data=False).graph
    return Counter((node.domain or "ai.onnx", node.op_type) for node in graph.node)


def test_each_layer_is_one_attention_a_bias_gelu_and_two_plain_layer_norms(fp32: OnnxEmbedder) -> None:
    counts = operators(fp32.files.onnx_path)
    assert counts[CONTRIB_DOMAIN, "Attention"] == LAYERS
    assert counts[CONTRIB_DOMAIN, "BiasGelu"] == LAYERS
    assert counts["ai.onnx", "Softmax"] == 0 and counts["ai.onnx", "Erf"] == 0, "nothing is left decomposed"
    # ONNX Runtime's CPU kernel of SkipLayerNormalization is slower than the pair it fuses.
    assert counts[CONTRIB_DOMAIN, "SkipLayerNormalization"] == 0
    assert counts["ai.onnx", "LayerNormalization"] == 2 * LAYERS + 1, "two per layer and the embeddings' one"


def optimised_operators(model_path: Path, tmp_path: Path, disabled: list[str]) -> Counter[tuple[str, str]]:
    """The operators of the graph as ONNX Runtime's CPU provider runs it after its optimiser."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled)
    return operators(tmp_path / "optimised.onnx")


def test_cpu_sessions_keep_the_residual_sums_and_norms_apart(int8: OnnxEmbedder, tmp_path: Path) -> None:
    """Left alone, the optimiser fuses each residual Add and its LayerNormalization back into the slow node; the
    CPU session's disabled passes keep them apart."""
    cpu = disabled_fusions(choose_providers("cpu"))
    assert optimised_operators(int8.files.onnx_path, tmp_path, cpu)[CONTRIB_DOMAIN, "SkipLayerNormalization"] == 0
    assert optimised_operators(int8.files.onnx_path, tmp_path, [])[CONTRIB_DOMAIN, "SkipLayerNormalization"] > 0


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
    assert operators(half.files.onnx_path)[CONTRIB_DOMAIN, "SkipLayerNormalization"] == 2 * LAYERS, "fused for GPUs"
    texts, expected = reference
    actual = half.embed_documents(texts)
    assert actual.dtype == np.float32
    similarity = (actual * expected).sum(axis=1)
    assert similarity.min() >= 0.9999
