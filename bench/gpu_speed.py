"""Embedding speed on the device the install step chose: fp32 and fp16 on a GPU, fp32 and int8 on a CPU.

Run by bench/gpu.sh inside the fresh environment it installs; it imports only Local Mind. The passages are
256-token texts built from the reference texts in tests/fixtures/minilm-reference (so the script needs no
data beside the repository). With --st-python, sentence-transformers embeds the same passages on the same
device in the same run (float16 on a GPU), through bench/st_worker.py in that interpreter's environment.

    python bench/gpu_speed.py [--quick] [--st-python PATH] [--expect gpu|cpu]

Prints a table and writes bench/results/gpu_speed-<time>.json. Exits 1 when --expect gpu is given and the
session runs on the CPU: the GPU build was installed but CUDA does not run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from localmind.config import EmbeddingsSettings
from localmind.embeddings import OnnxEmbedder, load_embedder

REPO = Path(__file__).resolve().parents[1]
REFERENCE_TEXTS = REPO / "tests" / "fixtures" / "minilm-reference" / "texts.jsonl"
ST_WORKER = REPO / "bench" / "st_worker.py"
ST_MODEL = Path.home() / ".cache" / "localmind-bench" / "all-MiniLM-L6-v2"
RESULTS = REPO / "bench" / "results"
PASSAGE_TOKENS = 256
CUDA = "CUDAExecutionProvider"
# Batch sizes per device: a GPU needs large batches to fill, two CPU cores do best with small ones.
BATCH_SIZES = {"gpu": (64, 256), "cpu": (16,)}
VARIANTS = {"gpu": ("fp32", "fp16"), "cpu": ("fp32", "int8")}
PASSES = 3


def passages(embedder: OnnxEmbedder, count: int) -> list[str]:
    """Texts of at least 256 tokens, each a different rotation of the reference texts joined end to end."""
    lines = REFERENCE_TEXTS.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    out = []
    for index in range(count):
        words: list[str] = []
        start = index % len(texts)
        for offset in range(len(texts)):
            words.extend(texts[(start + offset) % len(texts)].split())
            if len(words) >= 2 * PASSAGE_TOKENS:
                break
        out.append(" ".join(words[index % 7 :]))
    assert all(tokens.truncated for tokens in embedder.tokenizer.encode_batch(out)), "each fills 256 tokens"
    return out


def load(variant: str, batch_size: int) -> OnnxEmbedder:
    return load_embedder(EmbeddingsSettings(variant=variant, batch_size=batch_size))  # type: ignore[arg-type]


def best_rate(embedder: OnnxEmbedder, texts: list[str]) -> float:
    """Passages per second of the fastest of PASSES passes, after a warm-up pass (which also sizes GPU buffers)."""
    embedder.embed_documents(texts[: embedder.batch_size])
    fastest = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        embedder.embed_documents(texts)
        fastest = min(fastest, time.perf_counter() - started)
    return len(texts) / fastest


def reference_rate(python: Path, texts: list[str], device: str, batch_size: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.writelines(json.dumps(text) + "\n" for text in texts)
    command = [str(python), str(ST_WORKER), "time", "--texts", handle.name, "--batch-size", str(batch_size)]
    command += ["--repeat", str(PASSES + 1), "--model", str(ST_MODEL)]
    command += ["--device", "cuda", "--half"] if device == "gpu" else ["--device", "cpu", "--threads", "2"]
    reply = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    Path(handle.name).unlink()
    seconds = sorted(reply["seconds"][1:])  # The first pass warms up, as Local Mind's does.
    return len(texts) / seconds[0]


def agreement(texts: list[str], variants: tuple[str, ...]) -> float:
    """The lowest cosine between the first variant's vectors and each other variant's, on this device."""
    vectors = [load(variant, 16).embed_documents(texts) for variant in variants]
    return float(min((vectors[0] * other).sum(axis=1).min() for other in vectors[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="64 passages instead of 512")
    parser.add_argument("--st-python", type=Path, help="a python whose environment has sentence-transformers")
    parser.add_argument("--expect", choices=["gpu", "cpu"], help="the build the install step chose")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()

    probe = load("fp32", 16)
    device = "gpu" if probe.provider == CUDA else "cpu"
    print(f"provider: {probe.provider} ({probe.provider_reason})")
    if args.expect == "gpu" and device != "gpu":
        sys.exit("the GPU build is installed but the session runs on the CPU: CUDA does not run (see doctor)")
    texts = passages(probe, 64 if args.quick else 512)
    rows: list[dict[str, Any]] = []
    for batch_size in BATCH_SIZES[device]:
        for variant in VARIANTS[device]:
            rate = best_rate(load(variant, batch_size), texts)
            rows.append({"engine": f"Local Mind {variant}", "batch_size": batch_size, "passages_per_s": rate})
        if args.st_python is not None:
            rate = reference_rate(args.st_python, texts, device, batch_size)
            name = "sentence-transformers" + (" fp16" if device == "gpu" else "")
            rows.append({"engine": name, "batch_size": batch_size, "passages_per_s": rate})
    cosine = agreement(texts[:32], VARIANTS[device])
    print(f"{'engine':<28} {'batch':>6} {'passages/s':>11}")
    for row in rows:
        print(f"{row['engine']:<28} {row['batch_size']:>6} {row['passages_per_s']:>11.1f}")
    print(f"lowest cosine between {' and '.join(VARIANTS[device])} vectors: {cosine:.5f}")
    results = {"device": device, "provider": probe.provider, "reason": probe.provider_reason, "rows": rows}
    results |= {"passages": len(texts), "min_cosine_between_variants": cosine, "quick": args.quick}
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"gpu_speed-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    np.testing.assert_array_less(0.97, cosine)  # int8 keeps 0.97 to the reference; below that a variant is broken.


if __name__ == "__main__":
    main()
