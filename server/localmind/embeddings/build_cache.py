"""The per-user cache of built ONNX models.

Each build lives in its own folder, keyed by the source weights' digest, the builder version and the
variant, and holds model.onnx, tokenizer.json and build.json (the digests of both). A build is
written to a staging folder and renamed into place while holding a file lock, so two processes
building at once produce one model and a reader never sees a partial one. A folder whose files do
not match its build.json (a crash mid-copy, a flipped bit) is detected and rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import onnx
from filelock import FileLock, Timeout

from localmind.config import Variant
from localmind.embeddings.manifest import ModelSpec
from localmind.embeddings.onnx_builder import BUILDER_VERSION, build_bert_graph
from localmind.embeddings.source import sha256_of, source_folder
from localmind.errors import ModelError

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
BUILD_RECORD = "build.json"
_LOCK_TIMEOUT_S = 900


@dataclass(frozen=True)
class ModelFiles:
    """A ready model: the ONNX graph and its tokenizer, plus the spec that says how to use them."""

    spec: ModelSpec
    variant: str
    folder: Path
    built: bool

    @property
    def model_id(self) -> str:
        """The model and variant, as vectors and the team cache are labelled with it."""
        return f"{self.spec.name}:{self.variant}"

    @property
    def onnx_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / TOKENIZER_FILE


def build_folder(spec: ModelSpec, variant: Variant, cache_dir: Path) -> Path:
    weights = spec.digest_of("model.safetensors").sha256[:16]
    return cache_dir / "models" / spec.name / f"{weights}-b{BUILDER_VERSION}-{variant}"


def ensure_built(spec: ModelSpec, variant: Variant, cache_dir: Path, allow_build: bool = True) -> ModelFiles:
    """Return the built model, building it (once, under a lock) when it is missing or damaged."""
    folder = build_folder(spec, variant, cache_dir)
    if not problems_in(folder):
        return ModelFiles(spec, variant, folder, built=False)
    if not allow_build:
        raise ModelError(f"{spec.name} ({variant}) is not built; run `localmind models build --variant {variant}`")
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(folder) + ".lock", timeout=_LOCK_TIMEOUT_S):
            damage = problems_in(folder)
            if not damage:  # Another process finished the build while this one waited.
                return ModelFiles(spec, variant, folder, built=False)
            if folder.exists():
                log.warning("rebuilding %s: %s", folder, "; ".join(damage))
                shutil.rmtree(folder)
            _build(spec, variant, cache_dir, folder)
    except Timeout:
        raise ModelError(f"another process has held the build lock of {folder} for {_LOCK_TIMEOUT_S} s") from None
    return ModelFiles(spec, variant, folder, built=True)


def problems_in(folder: Path) -> list[str]:
    """What is wrong with a built folder; an empty list means it is complete and intact."""
    record_path = folder / BUILD_RECORD
    if not record_path.is_file():
        return ["not built" if not folder.exists() else f"{BUILD_RECORD} is missing"]
    try:
        files = json.loads(record_path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        return [f"{BUILD_RECORD} is unreadable"]
    problems = []
    for name, expected in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != expected["size"]:
            problems.append(f"{name} is missing or truncated")
        elif sha256_of(path) != expected["sha256"]:
            problems.append(f"{name} does not match its recorded sha256")
    return problems


def _build(spec: ModelSpec, variant: Variant, cache_dir: Path, folder: Path) -> None:
    started = time.perf_counter()
    source = source_folder(spec, cache_dir)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
    try:
        fp32_path = staging / "model.fp32.onnx"
        graph = build_bert_graph(
            source / "model.safetensors", source / "config.json", spec.pooling, spec.normalize, half=variant == "fp16"
        )
        onnx.save(graph, str(fp32_path))
        if variant == "int8":
            _quantize(fp32_path, staging / MODEL_FILE)
            fp32_path.unlink()
        else:
            fp32_path.rename(staging / MODEL_FILE)
        shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        _write_record(spec, variant, staging)
        _fsync_tree(staging)
        os.rename(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("built %s (%s) in %.1f s at %s", spec.name, variant, time.perf_counter() - started, folder)


def _quantize(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 on the MatMul and Attention weights, per output channel (Attention becomes QAttention).

    Per-tensor scales lost too much accuracy (min cosine 0.84). Quantising the embedding table as
    well (ORT's default op set) saved 35 MB on disk but lowered the min cosine to sentence-transformers
    from 0.975 to 0.972 at the same speed, so the Gather stays fp32 (docs/BENCHMARKS.md).
    """
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs every tensor it skips, and a pre-processing hint, on the root logger; to a user
    # building the model both are noise.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(fp32_path),
            str(int8_path),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            # Shape inference knows no contrib operator, so the quantiser cannot infer the type of a
            # MatMul that reads an Attention node's output; every activation here is fp32.
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        logging.disable(previous)


def _write_record(spec: ModelSpec, variant: Variant, folder: Path) -> None:
    files = {
        name: {"sha256": sha256_of(folder / name), "size": (folder / name).stat().st_size}
        for name in (MODEL_FILE, TOKENIZER_FILE)
    }
    record = {
        "model": spec.name,
        "variant": variant,
        "builder_version": BUILDER_VERSION,
        "source_sha256": spec.digest_of("model.safetensors").sha256,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files,
    }
    (folder / BUILD_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
