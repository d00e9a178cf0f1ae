"""Search quality of each signal and of the fusion, measured in one run.

1. SciFact (BEIR layout, train split): the corpus becomes a workspace of Markdown files (one per
   document: `# title`, then the abstract), Local Mind indexes it, and every judged query runs through
   `Searcher` with each signal alone and with the default search. nDCG@10 and recall@100 are computed per
   document.
   In the same run, whole-document baselines over the same documents (title + " " + abstract, one text
   each): MiniLM dense (cut at 256 tokens by the embedder), bm25s BM25 (lower-case words, its English stop
   words) and their plain RRF (k = 60) over the top 100 of each.
2. Code search: the fixture repository tests/fixtures/coderepo with the 38 questions of
   tests/fixtures/coderepo-questions.jsonl (written before any tuning); MRR@10, where a hit is right when
   it is in the named file and its range overlaps the named symbol's definition.

    .venv/bin/python bench/retrieval_quality.py [--limit N] [--skip-scifact]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from baselines import Bm25Ranker, DenseRanker, english_words, rrf
from benchlib import SCIFACT_DIR, document_text, machine, read_jsonl, save_results
from localmind.config import IndexingSettings, Settings
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.retrieval import Searcher, SearchHit, parse_query
from localmind.wiring import Components
from scifact_dense import Qrels, load_data, ndcg_at_k, recall_at_k, self_check

REPO = Path(__file__).resolve().parents[1]
CODEREPO = REPO / "tests" / "fixtures" / "coderepo"
QUESTIONS = REPO / "tests" / "fixtures" / "coderepo-questions.jsonl"
CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "dense": ("dense",),
    "bm25": ("lexical",),
    "graph": ("graph",),
    # The default search (the graph walk is weighted 0 by default, so this is dense and BM25 fused over units).
    "default search": ("dense", "lexical", "graph"),
}
BASELINE_DENSE = "baseline: whole-document dense (MiniLM)"
BASELINE_BM25 = "baseline: whole-document BM25 (bm25s)"
BASELINE_RRF = "baseline: whole-document RRF (MiniLM dense + bm25s BM25)"
BASELINE_DEPTH = 100


def index_folder(root: Path, data: Path, embedder: OnnxEmbedder) -> Components:
    """Index root with the default settings (the store under data); the components to search it with."""
    components = Components.for_roots([root], Settings(indexing=IndexingSettings(data_dir=data)), embedder)
    began = time.perf_counter()
    report = components.indexer(embedder=embedder).run()
    print(
        f"indexed {root.name}: {report.files_indexed} files, {report.chunks_written} chunks "
        f"in {time.perf_counter() - began:.0f} s",
        file=sys.stderr,
    )
    return components


def write_beir_workspace(corpus: list[dict[str, str]], root: Path) -> None:
    """One Markdown file per document, named by its id, so a hit's file names the document."""
    for doc in corpus:
        (root / f"{doc['_id']}.md").write_text(f"# {doc['title']}\n\n{doc['text']}\n", encoding="utf-8")


def ranked_documents(hits: list[SearchHit]) -> list[str]:
    return list(dict.fromkeys(Path(hit.path).stem for hit in hits))


def scifact(limit: int | None, embedder: OnnxEmbedder, scratch: Path) -> dict[str, Any]:
    corpus, queries, qrels = load_data(limit)
    root = scratch / "scifact"
    root.mkdir()
    write_beir_workspace(corpus, root)
    searcher = index_folder(root, scratch / "data", embedder).open_readers().searcher
    scores = {}
    for name, signals in CONFIGURATIONS.items():
        rankings, began = {}, time.perf_counter()
        for query_id, text in queries.items():
            rankings[query_id] = ranked_documents(searcher.search(parse_query(query=text, k=150, signals=signals)))
        scores[name] = scifact_scores(name, rankings, qrels, time.perf_counter() - began)
    for name, (rankings, seconds) in whole_document_baselines(corpus, queries, embedder).items():
        scores[name] = scifact_scores(name, rankings, qrels, seconds)
    return {"documents": len(corpus), "queries": len(queries), "scores": scores}


def scifact_scores(name: str, rankings: dict[str, list[str]], qrels: Qrels, seconds: float) -> dict[str, float]:
    """nDCG@10 and recall@100 over the queries, printed as one row."""
    ndcg = [ndcg_at_k(docs, qrels[query_id], 10) for query_id, docs in rankings.items()]
    recall = [recall_at_k(docs, qrels[query_id], 100) for query_id, docs in rankings.items()]
    scores = {
        "ndcg@10": sum(ndcg) / len(ndcg),
        "recall@100": sum(recall) / len(recall),
        "ms_per_query": 1000 * seconds / len(rankings),
    }
    print(f"scifact {name:<57} nDCG@10 {scores['ndcg@10']:.4f}  recall@100 {scores['recall@100']:.4f}", file=sys.stderr)
    return scores


def whole_document_baselines(
    corpus: list[dict[str, str]], queries: dict[str, str], embedder: OnnxEmbedder
) -> dict[str, tuple[dict[str, list[str]], float]]:
    """Each baseline's ranked document ids per query and its seconds of searching (RRF: both searches)."""
    ids, texts = [doc["_id"] for doc in corpus], [document_text(doc) for doc in corpus]
    dense, bm25 = DenseRanker(texts, embedder), Bm25Ranker(texts, english_words)
    rankings: dict[str, dict[str, list[str]]] = {BASELINE_DENSE: {}, BASELINE_BM25: {}, BASELINE_RRF: {}}
    seconds = dict.fromkeys(rankings, 0.0)
    for query_id, text in queries.items():
        began = time.perf_counter()
        by_dense = dense.rank(text, BASELINE_DEPTH)
        middle = time.perf_counter()
        by_bm25 = bm25.rank(text, BASELINE_DEPTH)
        fused = rrf([by_dense, by_bm25])
        seconds[BASELINE_DENSE] += middle - began
        seconds[BASELINE_BM25] += time.perf_counter() - middle
        seconds[BASELINE_RRF] += time.perf_counter() - began
        for name, ranking in ((BASELINE_DENSE, by_dense), (BASELINE_BM25, by_bm25), (BASELINE_RRF, fused)):
            rankings[name][query_id] = [ids[i] for i in ranking]
    return {name: (rankings[name], seconds[name]) for name in rankings}


def code_search(embedder: OnnxEmbedder, scratch: Path) -> dict[str, Any]:
    searcher = index_folder(CODEREPO, scratch / "code-data", embedder).open_readers().searcher
    questions = list(read_jsonl(QUESTIONS))
    results: dict[str, Any] = {}
    for name, signals in CONFIGURATIONS.items():
        ranks = [answer_rank(searcher, question, signals) for question in questions]
        results[name] = {
            "mrr@10": sum(1 / r for r in ranks if r) / len(ranks),
            "hits@1": sum(1 for r in ranks if r == 1) / len(ranks),
            "hits@10": sum(1 for r in ranks if r) / len(ranks),
            "misses": [q["_id"] for q, r in zip(questions, ranks, strict=True) if not r],
        }
        print(
            f"code   {name:<28} MRR@10 {results[name]['mrr@10']:.3f}  hits@1 {results[name]['hits@1']:.2f}  "
            f"hits@10 {results[name]['hits@10']:.2f}",
            file=sys.stderr,
        )
    return {"questions": len(questions), "scores": results}


def answer_rank(searcher: Searcher, question: dict[str, Any], signals: tuple[str, ...]) -> int | None:
    """The 1-based rank of the first hit that answers the question within the top 10, else None."""
    target = definition_lines(searcher, question["path"], question["symbol"])
    hits = searcher.search(parse_query(query=question["text"], k=10, signals=signals))
    for rank, hit in enumerate(hits, start=1):
        if hit.path == question["path"] and (
            target is None or (hit.range.start.line <= target[1] and target[0] <= hit.range.end.line)
        ):
            return rank
    return None


def definition_lines(searcher: Searcher, path: str, symbol: str | None) -> tuple[int, int] | None:
    if symbol is None:
        return None
    rows = searcher.store.query(
        "SELECT s.start_line, s.end_line FROM symbols s JOIN files f ON f.id = s.file_id "
        "WHERE f.rel_path = ? AND s.name = ? ORDER BY s.start_line LIMIT 1",
        (path, symbol),
    )
    if not rows:
        raise SystemExit(f"question names {symbol} in {path}, which the index does not define")
    return int(rows[0][0]), int(rows[0][1])  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="SciFact: only the first N judged queries (a smoke run)")
    parser.add_argument("--skip-scifact", action="store_true")
    args = parser.parse_args()
    self_check()
    embedder = load_embedder(None)
    with tempfile.TemporaryDirectory() as scratch:
        results: dict[str, Any] = {"machine": machine(), "model": embedder.model_id, "scifact_dir": str(SCIFACT_DIR)}
        results["code_search"] = code_search(embedder, Path(scratch))
        if not args.skip_scifact:
            results["scifact"] = scifact(args.limit, embedder, Path(scratch))
    print(json.dumps(results, indent=2))
    save_results("retrieval_quality" + (f"-limit{args.limit}" if args.limit else ""), results)


if __name__ == "__main__":
    main()
