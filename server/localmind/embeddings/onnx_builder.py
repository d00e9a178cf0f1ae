"""Writes a BERT sentence encoder as an ONNX graph straight from safetensors weights.

No exporter fits: torch.onnx needs torch at build time, and optimum's exporters need torch and
transformers; both are gigabytes we refuse to install. The graph is small enough to write with
the onnx helper API: embeddings, N encoder layers, pooling over the attention mask and L2
normalisation, so one session call turns token ids into finished sentence vectors.

Each encoder layer is written with ONNX Runtime's fused transformer operators (domain
com.microsoft): one ``Attention`` node with the query, key and value projections packed into one
weight, and ``BiasGelu`` for the feed-forward activation. ONNX Runtime's optimiser does not find these
fusions in a graph of standard operators written by hand. On CPUs the fused graph is as fast as the
decomposed one (both run the weight products at the machine's matrix-multiplication limit,
docs/BENCHMARKS.md); the fusions are for the CUDA provider, which runs each as one kernel, and int8
quantises `Attention` as well.

Each residual sum and its layer norm stay two standard nodes (``Add``, ``LayerNormalization``) in the
float32 graph, because ONNX Runtime's CPU kernel of the fused ``SkipLayerNormalization`` is about four
times slower than the pair (4.1 against 1.1 ms on a 16 x 256 x 384 batch, ONNX Runtime 1.32): it was a
sixth of int8's time on 256-token passages. CPU sessions therefore also turn off the optimiser pass that
would fuse the pair again (``CPU_DISABLED_FUSIONS``); the float16 graph, which only GPUs run, keeps the
fused node. ``fused=False`` writes the standard-operator graph, which any ONNX runtime can run; the tests
and the embedding benchmark compare the two.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

from localmind.errors import ModelError

# Bump when the graph changes: it is part of the cache key of every built model.
BUILDER_VERSION = 3
OPSET = 17
CONTRIB_DOMAIN = "com.microsoft"
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
SENTENCE_OUTPUT = "sentence_embedding"
TOKEN_OUTPUT = "last_hidden_state"
_MASKED_SCORE = -10000.0
# ONNX Runtime optimiser passes that CPU sessions turn off: the fused node is slower there than the pair.
CPU_DISABLED_FUSIONS = ("SkipLayerNormFusion",)


@dataclass(frozen=True)
class BertShape:
    hidden: int
    heads: int
    layers: int
    eps: float

    @classmethod
    def from_config(cls, config_path: Path) -> BertShape:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("model_type", "bert") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise ModelError(f"{config_path}: only BERT encoders with GELU are supported")
        return cls(
            hidden=int(config["hidden_size"]),
            heads=int(config["num_attention_heads"]),
            layers=int(config["num_hidden_layers"]),
            eps=float(config.get("layer_norm_eps", 1e-12)),
        )

    @property
    def head_size(self) -> int:
        return self.hidden // self.heads


class _Graph:
    """Accumulates nodes and initialisers, naming intermediate values uniquely."""

    def __init__(self, weights: dict[str, np.ndarray], dtype: type[np.floating[Any]] = np.float32) -> None:
        self.weights = weights
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        self._count += 1
        output = f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attrs))
        return output

    def contrib(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        """A node of ONNX Runtime's contrib domain; an empty input name leaves an optional input out."""
        self._count += 1
        output = f"{op_type.lower()}_{self._count}"
        node = helper.make_node(op_type, list(inputs), [output], domain=CONTRIB_DOMAIN, **attrs)
        self.nodes.append(node)
        return output

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        value = self.weights[key].astype(self.dtype)
        return self.const(key, np.ascontiguousarray(value.T if transpose else value))

    def linear(self, x: str, prefix: str) -> str:
        product = self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True))
        return self.op("Add", product, self.weight(f"{prefix}.bias"))

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        scale, bias = self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=eps)


def _strip_prefix(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Checkpoints saved from BertForX name tensors 'bert.…'; sentence-transformers saves them bare."""
    return {key.removeprefix("bert."): value for key, value in weights.items()}


def _embeddings(g: _Graph, shape: BertShape) -> str:
    words = g.op("Gather", g.weight("embeddings.word_embeddings.weight"), INPUT_IDS)
    length = g.op("Gather", g.op("Shape", INPUT_IDS), g.const("axis_one", np.array([1], np.int64)))
    positions = g.op(
        "Slice",
        g.weight("embeddings.position_embeddings.weight"),
        g.const("zero_1d", np.array([0], np.int64)),
        length,
        g.const("axes_zero", np.array([0], np.int64)),
    )
    # Single-segment input: every token has type 0, so its embedding is one constant row.
    token_type = g.const("token_type_row", g.weights["embeddings.token_type_embeddings.weight"][0].astype(g.dtype))
    summed = g.op("Add", g.op("Add", words, positions), token_type)
    return g.layer_norm(summed, "embeddings.LayerNorm", shape.eps)


def _mask_bias(g: _Graph) -> str:
    """(batch, 1, 1, seq) additive bias: 0 where a token is real, a large negative where it is padding."""
    mask = g.op("Cast", ATTENTION_MASK, to=TensorProto.FLOAT)
    inverted = g.op("Sub", g.const("one", np.array(1.0, np.float32)), mask)
    scaled = g.op("Mul", inverted, g.const("masked_score", np.array(_MASKED_SCORE, np.float32)))
    return g.op("Unsqueeze", scaled, g.const("axes_1_2", np.array([1, 2], np.int64)))


def _split_heads(g: _Graph, x: str, shape: BertShape, perm: list[int]) -> str:
    heads = g.const(f"heads_shape_{g._count}", np.array([0, 0, shape.heads, shape.head_size], np.int64))
    return g.op("Transpose", g.op("Reshape", x, heads), perm=perm)


def _attention(g: _Graph, x: str, bias: str, prefix: str, shape: BertShape) -> str:
    scale = g.const(f"{prefix}.scale", np.array(1.0 / math.sqrt(shape.head_size), np.float32))
    query = _split_heads(g, g.op("Mul", g.linear(x, f"{prefix}.self.query"), scale), shape, [0, 2, 1, 3])
    key = _split_heads(g, g.linear(x, f"{prefix}.self.key"), shape, [0, 2, 3, 1])
    value = _split_heads(g, g.linear(x, f"{prefix}.self.value"), shape, [0, 2, 1, 3])
    probs = g.op("Softmax", g.op("Add", g.op("MatMul", query, key), bias), axis=-1)
    context = g.op("Transpose", g.op("MatMul", probs, value), perm=[0, 2, 1, 3])
    merged = g.op("Reshape", context, g.const(f"{prefix}.merge", np.array([0, 0, shape.hidden], np.int64)))
    projected = g.linear(merged, f"{prefix}.output.dense")
    return g.layer_norm(g.op("Add", projected, x), f"{prefix}.output.LayerNorm", shape.eps)


def _gelu(g: _Graph, x: str) -> str:
    """The exact (erf) GELU that BERT uses: x * 0.5 * (1 + erf(x / sqrt 2))."""
    inv_sqrt2 = g.const(f"inv_sqrt2_{g._count}", np.array(1.0 / math.sqrt(2.0), np.float32))
    half = g.const(f"half_{g._count}", np.array(0.5, np.float32))
    one = g.const(f"one_{g._count}", np.array(1.0, np.float32))
    erf = g.op("Erf", g.op("Mul", x, inv_sqrt2))
    return g.op("Mul", g.op("Mul", x, half), g.op("Add", erf, one))


def _layer(g: _Graph, x: str, bias: str, index: int, shape: BertShape) -> str:
    prefix = f"encoder.layer.{index}"
    attended = _attention(g, x, bias, f"{prefix}.attention", shape)
    inner = _gelu(g, g.linear(attended, f"{prefix}.intermediate.dense"))
    out = g.linear(inner, f"{prefix}.output.dense")
    return g.layer_norm(g.op("Add", out, attended), f"{prefix}.output.LayerNorm", shape.eps)


def _int32_mask(g: _Graph) -> str:
    """The raw (batch, sequence) mask as the int32 mask index that the Attention operator reads."""
    return g.op("Cast", ATTENTION_MASK, to=TensorProto.INT32)


def _packed_qkv(g: _Graph, prefix: str) -> tuple[str, str]:
    """Query, key and value projections side by side: one (hidden, 3 * hidden) weight and its bias."""
    parts = [f"{prefix}.self.{name}" for name in ("query", "key", "value")]
    weight = np.concatenate([g.weights[f"{part}.weight"].astype(g.dtype).T for part in parts], axis=1)
    bias = np.concatenate([g.weights[f"{part}.bias"].astype(g.dtype) for part in parts])
    return g.const(f"{prefix}.qkv.weight", np.ascontiguousarray(weight)), g.const(f"{prefix}.qkv.bias", bias)


def _residual_norm(g: _Graph, product: str, residual: str, dense: str, norm: str, eps: float) -> str:
    """LayerNorm(product + dense bias + residual): one fused node in float16, standard nodes in float32."""
    gamma, beta, bias = g.weight(f"{norm}.weight"), g.weight(f"{norm}.bias"), g.weight(f"{dense}.bias")
    if g.dtype == np.float16:
        return g.contrib("SkipLayerNormalization", product, residual, gamma, beta, bias, epsilon=eps)
    summed = g.op("Add", g.op("Add", product, bias), residual)
    return g.op("LayerNormalization", summed, gamma, beta, axis=-1, epsilon=eps)


def _fused_layer(g: _Graph, x: str, mask: str, index: int, shape: BertShape) -> str:
    prefix = f"encoder.layer.{index}"
    attention = f"{prefix}.attention"
    weight, bias = _packed_qkv(g, attention)
    context = g.contrib("Attention", x, weight, bias, mask, num_heads=shape.heads, mask_filter_value=_MASKED_SCORE)
    projected = g.op("MatMul", context, g.weight(f"{attention}.output.dense.weight", transpose=True))
    attended = _residual_norm(g, projected, x, f"{attention}.output.dense", f"{attention}.output.LayerNorm", shape.eps)
    inner = g.op("MatMul", attended, g.weight(f"{prefix}.intermediate.dense.weight", transpose=True))
    activated = g.contrib("BiasGelu", inner, g.weight(f"{prefix}.intermediate.dense.bias"))
    out = g.op("MatMul", activated, g.weight(f"{prefix}.output.dense.weight", transpose=True))
    return _residual_norm(g, out, attended, f"{prefix}.output.dense", f"{prefix}.output.LayerNorm", shape.eps)


def _mean_pool(g: _Graph, hidden: str) -> str:
    mask = g.op(
        "Unsqueeze",
        g.op("Cast", ATTENTION_MASK, to=TensorProto.FLOAT),
        g.const("axes_2", np.array([2], np.int64)),
    )
    axis = g.const("axes_seq", np.array([1], np.int64))
    summed = g.op("ReduceSum", g.op("Mul", hidden, mask), axis, keepdims=0)
    counts = g.op("Max", g.op("ReduceSum", mask, axis, keepdims=0), g.const("min_count", np.array(1e-9, np.float32)))
    return g.op("Div", summed, counts)


def _cls_pool(g: _Graph, hidden: str) -> str:
    return g.op("Gather", hidden, g.const("first_token", np.array(0, np.int64)), axis=1)


def _l2_normalise(g: _Graph, x: str) -> str:
    # Opset 17's ReduceL2 takes its axes as an attribute (ReduceSum takes them as an input).
    norm = g.op("ReduceL2", x, axes=[-1], keepdims=1)
    return g.op("Div", x, g.op("Max", norm, g.const("min_norm", np.array(1e-12, np.float32))))


def build_bert_graph(
    weights_path: Path,
    config_path: Path,
    pooling: str | None,
    normalize: bool,
    fused: bool = True,
    half: bool = False,
) -> onnx.ModelProto:
    """Build the encoder; with pooling None the graph returns token states instead of sentence vectors.

    With half, the weights and the encoder's arithmetic are float16 (for GPUs: ONNX Runtime's CPU provider
    runs it only through casts it inserts, slowly), and the token states are cast back to float32 before
    pooling.
    """
    if half and not fused:
        raise ValueError("the float16 graph exists only with the fused operators")
    shape = BertShape.from_config(config_path)
    g = _Graph(_strip_prefix(load_file(str(weights_path))), np.float16 if half else np.float32)
    try:
        hidden = _embeddings(g, shape)
        mask = _int32_mask(g) if fused else _mask_bias(g)
        layer = _fused_layer if fused else _layer
        for index in range(shape.layers):
            hidden = layer(g, hidden, mask, index, shape)
    except KeyError as exc:
        raise ModelError(f"{weights_path} lacks the BERT tensor {exc}") from None
    output = g.op("Cast", hidden, to=TensorProto.FLOAT) if half else hidden
    dims: list[str | int] = ["batch", "sequence", shape.hidden]
    if pooling is not None:
        output = _mean_pool(g, output) if pooling == "mean" else _cls_pool(g, output)
        output = _l2_normalise(g, output) if normalize else output
        dims = ["batch", shape.hidden]
    g.nodes.append(helper.make_node("Identity", [output], [SENTENCE_OUTPUT if pooling else TOKEN_OUTPUT]))
    return _model(g, dims, SENTENCE_OUTPUT if pooling else TOKEN_OUTPUT, fused)


def _model(g: _Graph, dims: list[str | int], output_name: str, fused: bool) -> onnx.ModelProto:
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in (INPUT_IDS, ATTENTION_MASK)
    ]
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, dims)]
    graph = helper.make_graph(g.nodes, "localmind_bert_encoder", inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid(CONTRIB_DOMAIN, 1)] if fused else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="localmind")
    model.ir_version = 8
    # The onnx package knows no schema of ONNX Runtime's contrib operators, so shape inference (the full
    # check) can only run on the standard graph; loading the session checks the fused one.
    onnx.checker.check_model(model, full_check=not fused)
    return model
