"""The embedder: one ONNX Runtime session per model, fed length-sorted, minimally padded batches."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from localmind.config import RUN_SCALED_VARIANTS, EmbeddingsSettings
from localmind.embeddings.build_cache import ModelFiles
from localmind.embeddings.manifest import ModelSpec
from localmind.embeddings.onnx_builder import CPU_DISABLED_FUSIONS
from localmind.embeddings.providers import CUDA, ProviderChoice, choose_providers, confirm, preload_cuda_libraries
from localmind.embeddings.tokenize import TextTokenizer, Tokens, validate_texts
from localmind.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingResult:
    vectors: np.ndarray  # (n, dimensions) float32
    truncated: list[bool]  # True where the text was longer than the model reads


class OnnxEmbedder:
    """Thread-safe: ONNX Runtime sessions and tokenizers may be called from several threads at once."""

    def __init__(self, files: ModelFiles, settings: EmbeddingsSettings, bulk: bool = False) -> None:
        self.spec: ModelSpec = files.spec
        self.files = files
        self.variant = files.variant
        self.batch_size = settings.batch_size
        self._tokenizer = TextTokenizer(files.tokenizer_path, files.spec.max_tokens)
        self._session, self.provider, self.provider_reason = _open_session(files, settings, bulk)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._output = self._session.get_outputs()[0].name
        self._check_dimensions()
        if self.variant == "fp16" and self.provider == "CPUExecutionProvider":
            log.warning(
                "the fp16 model runs on the CPU here, where it is slower than int8 or fp32; it is meant for GPUs"
            )

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._tokenizer

    @property
    def model_id(self) -> str:
        return self.files.model_id

    @property
    def dimensions(self) -> int:
        return self.spec.dimensions

    @property
    def max_tokens(self) -> int:
        return self.spec.max_tokens

    @property
    def texts_per_run(self) -> int:
        """How many texts one inference run holds: the batch size, except for variants whose activations are
        quantised per run (int8), which embed each text alone.

        Dynamic quantisation scales each activation tensor by the range of the whole run, padding included, so
        a text batched with others gets a vector that depends on them (cosine down to 0.965). Alone, every
        text's vector is its own: reproducible, and checkable against a teammate's through the team cache. One
        text per run measured as fast as batches of 16 on passages, faster on code (no padding), and half as
        fast on short texts, where it still matches fp32 in batches (docs/BENCHMARKS.md)."""
        return 1 if self.variant in RUN_SCALED_VARIANTS else self.batch_size

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, self.spec.document_prefix).vectors

    def embed_query(self, text: str) -> np.ndarray:
        vectors = self.encode([text], self.spec.query_prefix).vectors
        return np.asarray(vectors[0], dtype=np.float32)

    def encode(self, texts: Sequence[object], prefix: str = "") -> EmbeddingResult:
        """Embed texts in input order; raise EmbeddingInputError naming any item that is not a string."""
        clean = [prefix + text for text in validate_texts(texts)]
        tokens = self._tokenizer.encode_batch(clean)
        vectors = np.zeros((len(tokens), self.dimensions), dtype=np.float32)
        for batch in _length_sorted_batches(tokens, self.texts_per_run):
            vectors[batch] = self._run([tokens[i] for i in batch])
        truncated = [t.truncated for t in tokens]
        if any(truncated):
            log.debug("%d of %d texts were cut at %d tokens", sum(truncated), len(tokens), self.max_tokens)
        return EmbeddingResult(vectors, truncated)

    def _run(self, batch: list[Tokens]) -> np.ndarray:
        ids, mask = _pad(batch, self._tokenizer.pad_id)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        output: np.ndarray = self._session.run([self._output], feed)[0]
        return output if output.ndim == 2 else _pool(output, mask, self.spec)

    def _check_dimensions(self) -> None:
        """One tiny inference at load time: proves the graph runs and yields the declared width."""
        width = self._run(self._tokenizer.encode_batch(["dimension check"])).shape[1]
        if width != self.dimensions:
            raise ModelError(
                f"{self.spec.name} produces {width}-dimensional vectors; its manifest says {self.dimensions}"
            )


def _open_session(files: ModelFiles, settings: EmbeddingsSettings, bulk: bool) -> tuple[ort.InferenceSession, str, str]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = 1
    # A query session's idle threads sleep instead of spinning, so they leave the cores to the BM25 query that
    # runs beside the query embedding (and to the editor). A bulk session's threads spin briefly between
    # operators, as ONNX Runtime's default has them do: one 256-token text per run has about a hundred
    # parallel sections, and waking a sleeping thread for each cost 7-10 % of int8's throughput. The language
    # server's bulk session runs at the indexing thread's lowered priority, so its spinning gives way to requests.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if bulk else "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # Errors only: ORT's warnings go to stderr and mean nothing to users.
    choice = choose_providers(settings.device)
    preload_cuda_libraries(choice)
    try:
        session = ort.InferenceSession(
            str(files.onnx_path), options, providers=choice.requested, disabled_optimizers=disabled_fusions(choice)
        )
    except Exception as exc:  # ORT raises its own exception types for unreadable or invalid graphs.
        raise ModelError(f"ONNX Runtime cannot load {files.onnx_path}: {exc}") from None
    active = session.get_providers()
    return session, active[0], confirm(choice, active, settings.device)


def disabled_fusions(choice: ProviderChoice) -> list[str]:
    """The optimiser passes whose fused operators run slower than the nodes they replace on the chosen device."""
    return [] if CUDA in choice.requested else list(CPU_DISABLED_FUSIONS)


def _length_sorted_batches(tokens: list[Tokens], batch_size: int) -> list[list[int]]:
    """Indices grouped so that each batch holds texts of similar length, which minimises padding."""
    order = sorted(range(len(tokens)), key=lambda i: len(tokens[i].ids))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _pad(batch: list[Tokens], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(t.ids) for t in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, item in enumerate(batch):
        ids[row, : len(item.ids)] = item.ids
        mask[row, : len(item.ids)] = 1
    return ids, mask


def _pool(hidden: np.ndarray, mask: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Pooling for user models whose graph stops at the token states (e.g. exported by optimum)."""
    if spec.pooling == "cls":
        pooled = hidden[:, 0, :]
    else:
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if spec.normalize:
        pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled.astype(np.float32)


# The purpose whose session embeds in bulk (indexing), with threads that spin between operators.
BULK_PURPOSE = "index"
_sessions_lock = threading.Lock()
_sessions: dict[tuple[object, ...], OnnxEmbedder] = {}


def shared_embedder(files: ModelFiles, settings: EmbeddingsSettings, purpose: str = "shared") -> OnnxEmbedder:
    """One ONNX Runtime session per model, device, thread count and purpose in a process. Callers that
    differ only in batch size get a shallow copy that shares the session and the tokenizer."""
    key = (files.folder, settings.device, settings.intra_op_threads, purpose)
    with _sessions_lock:
        if key not in _sessions:
            _sessions[key] = OnnxEmbedder(files, settings, bulk=purpose == BULK_PURPOSE)
        shared = _sessions[key]
    if shared.batch_size == settings.batch_size:
        return shared
    variant = copy.copy(shared)
    variant.batch_size = settings.batch_size
    return variant
