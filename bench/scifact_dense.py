"""Dense retrieval on SciFact (train split): Local Mind fp32 and int8 against sentence-transformers.

Each engine embeds the corpus (title + " " + text) and the queries; exact cosine search (a matrix
product of normalised vectors) ranks every document; nDCG@10 and recall@100 follow the BEIR /
pytrec_eval definitions. The sentence-transformers vectors come from st_worker.py in the same run.

    .venv/bin/python bench/scifact_dense.py [--limit N]

With --limit N only the first N judged queries are run, against their relevant documents plus the
first 10·N documents of the corpus: a smoke run, not a result. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchlib import SCIFACT_DIR, THREADS, document_text, machine, read_jsonl, save_results, st_command, write_texts
from localmind.config import EmbeddingsSettings
from localmind.embeddings import load_embedder

BATCH_SIZE = 16
NDCG_K = 10
RECALL_K = 100
MAX_NDCG_GAP = 0.002
ENGINES = ("fp32", "int8", "st")
ENGINE_NAMES = {"fp32": "Local Mind fp32", "int8": "Local Mind int8", "st": "sentence-transformers"}

Qrels = dict[str, dict[str, int]]


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """nDCG@k with graded gains (the judgement itself, as trec_eval uses) and a log2(rank + 1) discount."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """Relevant documents (judgement ≥ 1) in the top k, over all relevant documents."""
    wanted = {doc for doc, grade in relevant.items() if grade >= 1}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def self_check() -> None:
    """The metrics on hand-worked examples, so a wrong formula stops the run before any embedding."""
    relevant = {"a": 1, "c": 2}
    # DCG = 1/log2(2) + 2/log2(4) = 2; ideal DCG = 2/log2(2) + 1/log2(3) = 2.6309.
    assert math.isclose(ndcg_at_k(["a", "b", "c"], relevant, 10), 2 / (2 + 1 / math.log2(3)))
    assert math.isclose(ndcg_at_k(["c", "a", "b"], relevant, 10), 1.0)
    assert ndcg_at_k(["b", "d"], relevant, 10) == 0.0
    assert math.isclose(ndcg_at_k(["b", "a", "c"], relevant, 1), 0.0)
    assert math.isclose(recall_at_k(["a", "b", "c"], relevant, 2), 0.5)
    assert math.isclose(recall_at_k(["b", "c", "a"], relevant, 3), 1.0)


def read_qrels(path: Path) -> Qrels:
    """query-id → {corpus-id: score}, skipping the header line."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows)
        for query_id, doc_id, score in rows:
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    return qrels


def load_data(limit: int | None) -> tuple[list[dict[str, str]], dict[str, str], Qrels]:
    """Corpus, judged queries and qrels; with a limit, a small slice that still holds every relevant document."""
    corpus = list(read_jsonl(SCIFACT_DIR / "corpus.jsonl"))
    qrels = read_qrels(SCIFACT_DIR / "qrels.train.tsv")
    queries = {q["_id"]: q["text"] for q in read_jsonl(SCIFACT_DIR / "queries.train.jsonl") if q["_id"] in qrels}
    if limit is not None:
        queries = dict(list(queries.items())[:limit])
        qrels = {query_id: qrels[query_id] for query_id in queries}
        needed = {doc for judged in qrels.values() for doc in judged}
        corpus = [doc for index, doc in enumerate(corpus) if index < 10 * limit or doc["_id"] in needed]
    return corpus, queries, qrels


def embed_local(variant: str, docs: list[str], queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    settings = EmbeddingsSettings(variant=variant, batch_size=BATCH_SIZE, intra_op_threads=THREADS, device="cpu")
    embedder = load_embedder(settings)
    # There is no batch form of embed_query, and embed_documents would add the document prefix.
    return embedder.embed_documents(docs), np.stack([embedder.embed_query(q) for q in queries])


def embed_st(docs: list[str], queries: list[str], workdir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Document and query vectors from st_worker.py, and the worker's report (torch and ST versions)."""
    vectors = []
    for name, texts in (("docs", docs), ("queries", queries)):
        out = workdir / f"st-{name}.npy"
        texts_path = write_texts(texts, workdir / f"{name}.jsonl")
        command = st_command("embed", "--texts", str(texts_path), "--out", str(out), "--batch-size", str(BATCH_SIZE))
        report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        vectors.append(np.load(out))
    return vectors[0], vectors[1], report


def rank(doc_vectors: np.ndarray, query_vectors: np.ndarray, doc_ids: list[str], k: int) -> list[list[str]]:
    """The top k documents of each query by cosine (the vectors are unit length), best first."""
    scores = query_vectors @ doc_vectors.T
    top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
    ordered = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    return [[doc_ids[i] for i in row] for row in ordered]


def evaluate(rankings: list[list[str]], query_ids: list[str], qrels: Qrels) -> dict[str, float]:
    pairs = list(zip(rankings, query_ids, strict=True))
    return {
        f"ndcg@{NDCG_K}": float(np.mean([ndcg_at_k(r, qrels[q], NDCG_K) for r, q in pairs])),
        f"recall@{RECALL_K}": float(np.mean([recall_at_k(r, qrels[q], RECALL_K) for r, q in pairs])),
    }


def agreement(mine: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Cosine between each of Local Mind's vectors and sentence-transformers' vector of the same text."""
    cosines = np.sum(mine * reference, axis=1)
    return {"mean_cosine": float(cosines.mean()), "min_cosine": float(cosines.min())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="only the first N judged queries: a smoke run")
    args = parser.parse_args()
    self_check()
    corpus, queries, qrels = load_data(args.limit)
    doc_ids, doc_texts = [d["_id"] for d in corpus], [document_text(d) for d in corpus]
    query_ids, query_texts = list(queries), list(queries.values())
    print(f"{len(doc_texts)} documents, {len(query_texts)} queries", file=sys.stderr)

    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    reference: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="localmind-scifact-") as tmp:
        for engine in ENGINES:
            started = time.perf_counter()
            if engine == "st":
                doc_vectors, query_vectors, reference = embed_st(doc_texts, query_texts, Path(tmp))
                vectors[engine] = (doc_vectors, query_vectors)
            else:
                vectors[engine] = embed_local(engine, doc_texts, query_texts)
            seconds[engine] = time.perf_counter() - started
            print(f"{ENGINE_NAMES[engine]}: embedded in {seconds[engine]:.0f} s", file=sys.stderr)

    scores = {e: evaluate(rank(*vectors[e], doc_ids, RECALL_K), query_ids, qrels) for e in ENGINES}
    agree = {e: agreement(vectors[e][0], vectors["st"][0]) for e in ("fp32", "int8")}
    gap = scores["fp32"][f"ndcg@{NDCG_K}"] - scores["st"][f"ndcg@{NDCG_K}"]
    passed = abs(gap) <= MAX_NDCG_GAP
    print_report(scores, agree, gap, passed)

    results: dict[str, Any] = {
        "machine": machine() | {k: reference[k] for k in ("torch", "sentence_transformers", "threads")},
        "limit": args.limit,
        "documents": len(doc_texts),
        "queries": len(query_texts),
        "scores": scores,
        "document_agreement_with_st": agree,
        "fp32_minus_st_ndcg@10": gap,
        "within_0.002": passed,
        "embed_seconds": seconds,
    }
    print(f"\nwrote {save_results('scifact_dense' if args.limit is None else 'scifact_dense-limit', results)}")
    if not passed and args.limit is None:
        sys.exit(1)


def print_report(scores: dict[str, Any], agree: dict[str, Any], gap: float, passed: bool) -> None:
    print("\nSciFact train, dense retrieval, exact cosine search")
    print(f"{'engine':<22} {'nDCG@10':>8} {'R@100':>8} {'mean cos':>9} {'min cos':>8}")
    for engine in ENGINES:
        row = scores[engine]
        cos = agree.get(engine, {"mean_cosine": 1.0, "min_cosine": 1.0})
        print(
            f"{ENGINE_NAMES[engine]:<22} {row['ndcg@10']:>8.4f} {row['recall@100']:>8.4f}"
            f" {cos['mean_cosine']:>9.4f} {cos['min_cosine']:>8.4f}"
        )
    verdict = "within" if passed else "OUTSIDE"
    print(f"\nfp32 − ST nDCG@10 = {gap:+.4f}: {verdict} ±{MAX_NDCG_GAP}")
    print("(cosines compare each engine's document vectors with sentence-transformers' vectors of the same text)")


if __name__ == "__main__":
    main()
