"""The sentence-transformers side of the benchmarks; runs only inside the reference venv.

The benches start this file with the reference venv's python (bench/reference_env.sh creates it), so
torch never enters the project's environment. Texts files hold one JSON string per line. Modes:

    embed --texts T.jsonl [--out E.npy]      normalised embeddings of the texts
    time --texts T.jsonl --batch-size N      one encode() per repeat; prints JSON with chunks/s
                                             (--device cuda --half: on a GPU in float16)
    serve                                    one JSON request per stdin line, one JSON reply per line
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import cache
from pathlib import Path

# Progress bars and load reports would interleave with the benches' own output.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = Path.home() / ".cache" / "localmind-bench" / "all-MiniLM-L6-v2"


def load_model(
    folder: Path, threads: int, max_seq_length: int, device: str = "cpu", half: bool = False
) -> SentenceTransformer:
    torch.set_num_threads(threads)
    model = SentenceTransformer(str(folder), device=device)
    model.max_seq_length = max_seq_length
    return model.half() if half else model


@cache
def read_texts(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def embed(model: SentenceTransformer, texts: list[str], batch_size: int) -> np.ndarray:
    # encode() sorts the texts by length itself and restores their order afterwards.
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def time_encode(model: SentenceTransformer, texts_path: str, batch_size: int, repeat: int) -> dict[str, object]:
    """Seconds per full pass over the texts, tokenisation included, and the best pass as chunks/s."""
    texts = read_texts(texts_path)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        embed(model, texts, batch_size)
        seconds.append(time.perf_counter() - started)
    best = len(texts) / min(seconds)
    return {"texts": len(texts), "batch_size": batch_size, "seconds": seconds, "chunks_per_s": best}


def versions() -> dict[str, object]:
    return {
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def serve(model: SentenceTransformer) -> None:
    """Answer timing requests until stdin closes, so a bench can interleave this model with its own."""
    print(json.dumps({"ready": True, **versions()}), flush=True)
    for line in sys.stdin:
        if line.strip():
            request = json.loads(line)
            reply = time_encode(model, request["texts"], request["batch_size"], request.get("repeat", 1))
            print(json.dumps(reply), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["embed", "time", "serve"])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="a sentence-transformers model folder")
    parser.add_argument("--texts", help="JSONL file, one JSON string per line")
    parser.add_argument("--out", type=Path, help="embed: where to save the (n, 384) float32 .npy")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--half", action="store_true", help="float16 weights and arithmetic (for GPUs)")
    args = parser.parse_args()
    if args.mode != "serve" and not args.texts:
        parser.error(f"{args.mode} needs --texts")

    model = load_model(args.model, args.threads, args.max_seq_length, args.device, args.half)
    if args.mode == "serve":
        serve(model)
    elif args.mode == "time":
        print(json.dumps(time_encode(model, args.texts, args.batch_size, args.repeat)))
    else:
        vectors = embed(model, read_texts(args.texts), args.batch_size)
        if args.out is not None:
            np.save(args.out, vectors)
        print(json.dumps({"texts": len(vectors), "out": str(args.out) if args.out else None, **versions()}))


if __name__ == "__main__":
    main()
