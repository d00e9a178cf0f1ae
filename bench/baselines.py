"""Whole-document baselines the quality benchmarks share: BM25 (bm25s), dense cosine, and plain RRF.

Each ranker ranks the texts it was built on and answers with their indices, best first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from localmind.embeddings import OnnxEmbedder

RRF_K = 60
# bm25s's English stop words (Lucene's list of 33).
STOPWORDS = frozenset(STOPWORDS_EN)


def english_words(text: str) -> list[str]:
    """bm25s's own tokens: lower-case words of two or more characters, English stop words removed."""
    tokens: list[list[str]] = bm25s.tokenize([text], stopwords="en", return_ids=False, show_progress=False)
    return tokens[0]


def top_indices(scores: np.ndarray, depth: int) -> list[int]:
    """The indices of the highest positive scores, best first, ties in index order."""
    order = np.argsort(-scores, kind="stable")[:depth]
    return [int(i) for i in order if scores[i] > 0]


class Bm25Ranker:
    """bm25s with its defaults (Lucene's BM25, k1 = 1.5, b = 0.75) over the texts as tokenize splits them."""

    def __init__(self, texts: list[str], tokenize: Callable[[str], list[str]]) -> None:
        self._tokenize = tokenize
        self._model = bm25s.BM25()
        self._model.index([tokenize(text) for text in texts], show_progress=False)

    def rank(self, query: str, depth: int) -> list[int]:
        vocabulary = self._model.vocab_dict
        tokens = [token for token in self._tokenize(query) if token and token in vocabulary]
        if not tokens:
            return []
        return top_indices(self._model.get_scores(tokens), depth)


class DenseRanker:
    """Cosine between the embedder's vectors of the whole texts (cut at its token limit) and of the query."""

    def __init__(self, texts: list[str], embedder: OnnxEmbedder) -> None:
        self._embedder = embedder
        self._vectors = embedder.embed_documents(texts)

    def rank(self, query: str, depth: int) -> list[int]:
        scores = self._vectors @ self._embedder.embed_query(query)
        return [int(i) for i in np.argsort(-scores, kind="stable")[:depth]]


def rrf(rankings: Iterable[list[int]], k: int = RRF_K) -> list[int]:
    """Plain reciprocal rank fusion: each list adds 1 / (k + rank) to each of its items; ties keep first-seen order."""
    scores: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] += 1 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])
