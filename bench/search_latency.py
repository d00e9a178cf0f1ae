"""Query latency of hybrid search on stores of 10k and 100k chunks, with and without a path filter.

The stores are synthetic: random unit vectors, with real text (60-word windows of SciFact abstracts,
so the lexical index sees a natural vocabulary), and symbols and mentions so the graph signal has
work to do. The queries are real SciFact claims, each embedded by the model, so the measured time
is what a user waits for. Each size runs in its own process, so its
peak RSS is its own.

    .venv/bin/python bench/search_latency.py [--sizes 10000 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchlib import SCIFACT_DIR, document_text, machine, percentiles, read_jsonl, save_results, scifact_corpus
from localmind.config import Settings
from localmind.embeddings import load_embedder
from localmind.indexing import ids
from localmind.indexing.workspace import Workspace
from localmind.retrieval import parse_query
from localmind.stores.records import ChunkRecord, FileRecord, FileUpdate, SymbolRecord
from localmind.stores.sqlite_store import SqliteStore
from localmind.wiring import Components

CHUNKS_PER_FILE = 20
FOLDERS = 10
WINDOW_WORDS = 60


def text_source(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Words of the SciFact corpus (for chunk text) and its claims (for queries)."""
    words = " ".join(document_text(doc) for doc in scifact_corpus()).split()
    queries = [q["text"] for q in read_jsonl(SCIFACT_DIR / "queries.train.jsonl")]
    rng.shuffle(queries)
    return words, queries


def build_store(
    path: Path, chunks: int, model_id: str, dimensions: int, rng: np.random.Generator, words: list[str]
) -> None:
    store = SqliteStore(path)
    for f in range(chunks // CHUNKS_PER_FILE):
        store.write_file(synthetic_file(f, model_id, dimensions, rng, words))
    store.set_meta("model_id", model_id)
    store.close()


def synthetic_file(
    number: int, model_id: str, dimensions: int, rng: np.random.Generator, words: list[str]
) -> FileUpdate:
    rel_path = f"dir{number % FOLDERS}/file{number}.py"
    file_id = ids.file_id("bench", Path("/bench"), rel_path)
    chunks, symbols, mentions = [], [], []
    for n in range(CHUNKS_PER_FILE):
        start = int(rng.integers(0, len(words) - WINDOW_WORDS))
        text = " ".join(words[start : start + WINDOW_WORDS])
        chunk_id = ids.chunk_id(file_id, ids.text_hash(text), n)
        chunks.append(
            ChunkRecord(
                chunk_id,
                file_id,
                n,
                text,
                ids.text_hash(text),
                (n * 5, 0, n * 5 + 4, 10),
                (),
                f"fn_{number}_{n}",
                None,
                60,
                None,
                text,
            )
        )
        symbols.append(
            SymbolRecord(
                ids.symbol_id(file_id, f"fn_{number}_{n}", n),
                file_id,
                chunk_id,
                f"fn_{number}_{n}",
                f"fn_{number}_{n}",
                "function",
                (n * 5, 0, n * 5 + 4, 10),
                n * 5,
                4,
                None,
            )
        )
        mentions += [(chunk_id, f"fn_{int(rng.integers(0, number + 1))}_{int(rng.integers(0, CHUNKS_PER_FILE))}")]
    vectors = rng.standard_normal((CHUNKS_PER_FILE, dimensions)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    record = FileRecord(file_id, "/bench", rel_path, "code", "python", None, 1000, 0, f"hash{number}")
    return FileUpdate(record, chunks, vectors, model_id, symbols=symbols, mentions=mentions)


def child(size: int, queries: int) -> None:
    """Build a store of `size` chunks, then time `queries` searches without and with a path filter."""
    rng = np.random.default_rng(size)
    embedder = load_embedder(None)
    words, claims = text_source(rng)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Workspace((Path(scratch),), "bench", Path(scratch))
        began = time.perf_counter()
        build_store(workspace.store_path, size, embedder.model_id, embedder.dimensions, rng, words)
        built = time.perf_counter() - began
        searcher = Components(Settings(), workspace, embedder).open_readers().searcher
        texts = (claims * (queries // len(claims) + 1))[:queries]
        searcher.search(parse_query(query="warm up the vector matrix"))
        results = {"chunks": size, "build_s": built}
        for label, path_filter in (("no_filter", None), ("path_filter", "dir3/**")):
            samples = []
            for text in texts:
                began = time.perf_counter()
                searcher.search(parse_query(query=text, path=path_filter))
                samples.append(time.perf_counter() - began)
            results[label] = percentiles(samples)
        results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.queries)
        return
    runs = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size), "--queries", str(args.queries)]
        runs.append(json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout))
        r = runs[-1]
        for label in ("no_filter", "path_filter"):
            p = r[label]
            print(
                f"{size:>7} chunks {label:<11} p50 {p['p50_ms']:6.1f} ms  p95 {p['p95_ms']:6.1f} ms  "
                f"p99 {p['p99_ms']:6.1f} ms",
                file=sys.stderr,
            )
        print(
            f"{size:>7} chunks peak RSS {r['peak_rss_mib']:.0f} MiB (store built in {r['build_s']:.0f} s)",
            file=sys.stderr,
        )
    results = {"machine": machine(), "queries": args.queries, "runs": runs}
    print(json.dumps(results, indent=2))
    save_results("search_latency", results)


if __name__ == "__main__":
    main()
