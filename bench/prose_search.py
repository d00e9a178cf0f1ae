"""Prose search over a real documentation corpus: Local Mind against whole-document baselines, one run.

The corpus is the Python 3.11 documentation sources (Debian's python3.11-doc, `_sources/**/*.rst.txt`, 497
files, fetched as bench/index_speed.py fetches them). The questions (bench/prosesearch/pydocs-questions.jsonl)
were written by reading the files, before any run of this bench; each names its answering file(s).

Systems, all scored by file: a system's hits are collapsed to files in rank order, and MRR@10 and success@10
count the first answering file.

- Local Mind's default search, and each of its signals alone (dense, lexical) and dense + lexical.
- Baselines over whole files: bm25s BM25 (lower-case words, its English stop words); MiniLM dense over
  180-word windows, a file scored by its best window; and the plain RRF of the two (k = 60, top 100 each).
  The dense baseline uses the same embedder as Local Mind (the default variant), so both see the same vectors.

    .venv/bin/python bench/prose_search.py [--keep DIR] [--limit N] [--with-code]

`--with-code` asks the same questions in a workspace that also holds code: Jinja2's package source and
Cobra's Go files (the pinned corpora of bench/code_search.py) in a `code/` folder beside the docs. It measures
what code-first ranking costs a question about prose. The baselines still see the docs only.

`--keep DIR` keeps Local Mind's data folder and the baseline's window vectors between runs (a later run
re-indexes only what changed). A full run here: indexing about 22k chunks and embedding about 10k windows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from baselines import Bm25Ranker, english_words, rrf
from benchlib import machine, read_jsonl, save_results
from code_search import DEFAULT_CACHE, FETCHERS
from index_speed import python_docs, workspace_from
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.retrieval import parse_query
from retrieval_quality import index_folder

QUESTIONS = Path(__file__).resolve().parent / "prosesearch" / "pydocs-questions.jsonl"
WINDOW_WORDS = 180
DEPTH = 100
TOP = 10
LOCALMIND_SIGNALS: dict[str, tuple[str, ...]] = {
    "localmind default": ("dense", "lexical", "graph"),
    "localmind dense": ("dense",),
    "localmind lexical": ("lexical",),
    "localmind dense+lexical": ("dense", "lexical"),
}

Ranker = Callable[[str], list[str]]
CODE_FOLDER = "code"


class WindowDense:
    """MiniLM over 180-word windows of each file; a file's score is its best window's cosine."""

    def __init__(self, paths: list[str], texts: list[str], embedder: OnnxEmbedder, keep: Path | None) -> None:
        self._embedder = embedder
        windows: list[str] = []
        owners: list[int] = []
        for number, text in enumerate(texts):
            words = text.split()
            for start in range(0, max(len(words), 1), WINDOW_WORDS):
                windows.append(" ".join(words[start : start + WINDOW_WORDS]))
                owners.append(number)
        self._owners = np.array(owners)
        self._paths = paths
        self._vectors = _cached_vectors(windows, embedder, keep)

    def rank(self, query: str) -> list[str]:
        scores = self._vectors @ self._embedder.embed_query(query)
        best = np.full(len(self._paths), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._owners, scores)
        return [self._paths[i] for i in np.argsort(-best, kind="stable")[:DEPTH]]


def _cached_vectors(windows: list[str], embedder: OnnxEmbedder, keep: Path | None) -> np.ndarray:
    """The windows' vectors, reused from --keep when the same windows were embedded by the same model."""
    cache = keep / f"windows-{embedder.model_id.replace(':', '-')}-{len(windows)}.npy" if keep else None
    if cache is not None and cache.exists():
        return np.load(cache)
    began = time.perf_counter()
    vectors = embedder.embed_documents(windows)
    print(f"baseline: {len(windows)} windows embedded in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    if cache is not None:
        np.save(cache, vectors)
    return vectors


def baselines(workspace: Path, embedder: OnnxEmbedder, keep: Path | None) -> dict[str, Ranker]:
    files = sorted(workspace.rglob("*.rst.txt"))
    paths = [path.relative_to(workspace).as_posix() for path in files]
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in files]
    bm25 = Bm25Ranker(texts, english_words)
    dense = WindowDense(paths, texts, embedder, keep)

    def by_bm25(query: str) -> list[str]:
        return [paths[i] for i in bm25.rank(query, DEPTH)]

    position = {path: number for number, path in enumerate(paths)}

    def fused(query: str) -> list[str]:
        rankings = [[position[p] for p in by_bm25(query)], [position[p] for p in dense.rank(query)]]
        return [paths[i] for i in rrf(rankings)]

    return {
        "baseline: BM25, whole files (bm25s)": by_bm25,
        "baseline: dense, 180-word windows, best per file": dense.rank,
        "baseline: RRF of the two": fused,
    }


def localmind(workspace: Path, data: Path, embedder: OnnxEmbedder) -> dict[str, Ranker]:
    searcher = index_folder(workspace, data, embedder).open_readers().searcher

    def system(signals: tuple[str, ...]) -> Ranker:
        def search(text: str) -> list[str]:
            hits = searcher.search(parse_query(query=text, k=50, signals=signals))
            return list(dict.fromkeys(hit.path for hit in hits))

        return search

    return {name: system(signals) for name, signals in LOCALMIND_SIGNALS.items()}


def score(ranker: Ranker, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """File-level MRR@10 and success@10, with each question's rank (None: not in the top 10)."""
    ranks: dict[str, int | None] = {}
    for question in questions:
        found = ranker(question["text"])[:TOP]
        rank = next((n for n, path in enumerate(found, start=1) if path in question["answers"]), None)
        ranks[question["_id"]] = rank
    reciprocal = [1 / rank if rank else 0.0 for rank in ranks.values()]
    return {
        "mrr@10": sum(reciprocal) / len(reciprocal),
        "success@10": sum(rank is not None for rank in ranks.values()) / len(ranks),
        "ranks": ranks,
    }


def place_code(folder: Path, wanted: bool) -> None:
    """Copies Jinja2's package source and Cobra's non-test Go files into `folder`, or removes it."""
    if folder.exists():
        shutil.rmtree(folder)
    if not wanted:
        return
    jinja2, cobra = FETCHERS["jinja2"](DEFAULT_CACHE), FETCHERS["cobra"](DEFAULT_CACHE)
    shutil.copytree(jinja2.workspace / "src", folder / "jinja2")
    (folder / "cobra").mkdir()
    for source in cobra.workspace.rglob("*.go"):
        target = folder / "cobra" / source.relative_to(cobra.workspace)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="keep Local Mind's data folder and the window vectors here")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--with-code", action="store_true", help="add Jinja2's and Cobra's code to the workspace")
    args = parser.parse_args()
    questions = list(read_jsonl(QUESTIONS))[: args.limit]
    embedder = load_embedder(None)
    keep = args.keep.expanduser().resolve() if args.keep else None
    with tempfile.TemporaryDirectory() as scratch:
        workspace = (keep or Path(scratch)) / "workspace"
        if not workspace.is_dir():
            workspace_from(python_docs(), workspace, None)
        missing = [a for q in questions for a in q["answers"] if not (workspace / a).is_file()]
        if missing:
            raise SystemExit(f"answers not in the corpus: {missing}")
        place_code(workspace / CODE_FOLDER, args.with_code)
        data = (keep or Path(scratch)) / "data"
        systems = baselines(workspace, embedder, keep) | localmind(workspace, data, embedder)
        results = {name: score(ranker, questions) for name, ranker in systems.items()}
    corpus = "python3.11 docs" + (" with Jinja2's and Cobra's code" if args.with_code else "")
    print(f"\n{corpus}: {len(questions)} questions, file level", file=sys.stderr)
    print(f"{'system':50} MRR@10  S@10", file=sys.stderr)
    for name, row in results.items():
        print(f"{name:50} {row['mrr@10']:.3f}  {row['success@10']:.2f}", file=sys.stderr)
    report = {"machine": machine(), "model": embedder.model_id, "with_code": args.with_code}
    report |= {"questions": len(questions), "systems": results}
    print(json.dumps(report, indent=2))
    print(f"wrote {save_results('prose_search' + ('-with-code' if args.with_code else ''), report)}", file=sys.stderr)


if __name__ == "__main__":
    main()
