"""Hybrid search over a workspace's store: dense + BM25 (+ the graph walk, when weighted), fused by reciprocal
rank over units (definitions, sections); in a query about code, code ranked before the prose about it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pathspec

from localmind.config import RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.observability.context import carry
from localmind.retrieval.fusion import Fused, kind_aware_fusion, reciprocal_rank_fusion
from localmind.retrieval.graph import graph_ranking
from localmind.retrieval.lexical import bm25_search
from localmind.retrieval.query import SearchQuery, parse_query
from localmind.retrieval.results import Position, Range, SearchHit
from localmind.retrieval.snippets import make_snippet
from localmind.retrieval.units import Unit, units_of
from localmind.stores.embedded_vectors import EmbeddedVectorIndex
from localmind.stores.ports import GraphStore, IndexReads, VectorStore
from localmind.stores.records import FileFacts, HitChunk, Span
from localmind.stores.sqlite_graph import SqliteGraph
from localmind.stores.sqlite_store import SqliteStore

log = logging.getLogger(__name__)
T = TypeVar("T")
# The graph's weight in related(): there the link graph is the second of two signals, not a third.
_RELATED_GRAPH_WEIGHT = 0.5


class Searcher:
    """Reads one workspace store. Not shared across threads: open one per thread.

    BM25 runs on a thread of its own, with its own connection, while the query is embedded and the
    vectors are scanned: SQLite, ONNX Runtime and numpy all release the GIL, so the two overlap.
    """

    def __init__(
        self,
        store: SqliteStore,
        embedder: OnnxEmbedder,
        settings: RetrievalSettings,
        graph: GraphStore | None = None,
        vectors: VectorStore | None = None,
    ) -> None:
        """`store` is the calling thread's connection (the caller closes it); the graph and vectors default to
        the embedded store's own, and the composition root passes the server backends the settings select."""
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.vectors: VectorStore = vectors or EmbeddedVectorIndex(self.store, embedder.model_id, embedder.dimensions)
        self.graph: GraphStore = graph or SqliteGraph(self.store)
        self._files: tuple[int, list[FileFacts]] = (-1, [])
        self._lock = threading.Lock()
        # Signals left out because their backend failed: role → (error, wall-clock time of the first failure).
        self.unavailable: dict[str, tuple[str, float]] = {}
        self._coverage: tuple[int, float] = (-1, 1.0)  # (store generation, share of chunks with a vector).
        self._partial_since: float | None = None
        self._lexical_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localmind-bm25")
        self._lexical_store: SqliteStore | None = None  # Opened and used only on the pool's thread.
        indexed_with = self.store.meta("model_id")
        if indexed_with and indexed_with != embedder.model_id:
            log.warning(
                "the index was built with %s, not %s: dense search finds nothing until a re-index",
                indexed_with,
                embedder.model_id,
            )

    @property
    def reads(self) -> IndexReads:
        """The named reads of the index this searcher reads: its store's own, on this thread."""
        return self.store.reads

    def close(self) -> None:
        self._lexical_pool.submit(self._close_lexical_store).result()
        self._lexical_pool.shutdown()

    def _close_lexical_store(self) -> None:
        if self._lexical_store is not None:
            self._lexical_store.close()
            self._lexical_store = None

    def _lexical(self, text: str, depth: int, allowed: set[str] | None) -> list[str]:
        if self._lexical_store is None:
            self._lexical_store = self.store.another_connection()
        return bm25_search(self._lexical_store, text, depth, allowed)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        if not query.query.strip():
            return []
        allowed = self._allowed_files(query)
        k = query.k or self.settings.default_k
        rankings = self.rankings(query, allowed)
        units = self._units(list({chunk for ranking in rankings.values() for chunk in ranking}))
        return self._hits(self._fuse(rankings, units, self._candidates(query)), query, k, allowed)

    def _candidates(self, query: SearchQuery) -> int:
        """How many chunks each signal contributes to a fusion (of each kind, in a fusion by kind)."""
        return max(self.settings.candidates, query.k or 0)

    def _fuse(self, rankings: dict[str, list[str]], units: dict[str, Unit], per_list: int) -> list[Fused]:
        """Units fused by reciprocal rank, the graph counted in its top hits; in a query about code, code
        competes with code and prose with prose, prose scaled by prose_weight (see kind_aware_fusion)."""
        return kind_aware_fusion(
            rankings,
            self._weights(rankings),
            self.settings.rrf_k,
            is_code=lambda chunk: units[chunk].is_code if chunk in units else True,
            prose_weight=self.settings.prose_weight,
            depth={"graph": self.settings.graph_depth},
            unit_of=lambda chunk: units[chunk].key if chunk in units else chunk,
            per_list=per_list,
        )

    def _units(self, chunk_ids: list[str]) -> dict[str, Unit]:
        return units_of(self.reads.chunk_units(chunk_ids))

    def rankings(self, query: SearchQuery, allowed: set[str] | None) -> dict[str, list[str]]:
        """Each requested signal's ranked chunk ids, before fusion: twice the candidates of dense and BM25, so a
        fusion by kind still has its candidates of each kind (see kind_aware_fusion)."""
        depth = self._candidates(query)
        rankings: dict[str, list[str]] = {}
        lexical = None
        if "lexical" in query.signals:
            lexical = self._lexical_pool.submit(carry(self._lexical), query.query, 2 * depth, allowed)
        if "dense" in query.signals:
            vector = self._guarded("embedder", lambda: self.embedder.embed_query(query.query))
            dense = (
                None
                if vector is None
                else self._guarded("vectors", lambda: self.vectors.search(vector, 2 * depth, allowed))
            )
            if dense is not None:
                rankings["dense"] = [chunk for chunk, _ in dense]
        if lexical is not None:
            rankings["lexical"] = lexical.result()
        if "graph" in query.signals and (self.settings.weight_graph > 0 or query.signals == ("graph",)):
            graph = self._guarded("graph", lambda: self._graph(query, rankings, allowed)[:depth])
            if graph is not None:
                rankings["graph"] = graph
        return rankings

    def left_out(self) -> dict[str, tuple[str, float]]:
        """What answers leave out now, by role → (why, since when): backends that failed (`unavailable`), and
        "embedding" while only part of the chunks has its vector (phase 2 of an indexing pass)."""
        generation = self.store.generation()
        if generation != self._coverage[0]:
            self._coverage = (generation, self.store.dense_coverage())
        coverage = self._coverage[1]
        if coverage >= 1.0:
            self._partial_since = None
            return dict(self.unavailable)
        self._partial_since = self._partial_since or time.time()
        why = f"meaning search covers {coverage:.0%} of the chunks; the rest is being embedded"
        return {**self.unavailable, "embedding": (why, self._partial_since)}

    def _guarded(self, backend: str, call: Callable[[], T]) -> T | None:
        """A signal whose backend (a server, the embedder) fails is left out, so search answers from the
        others; the failure is logged and kept in `unavailable` for status, hover notes and clients."""
        try:
            result = call()
        except Exception as exc:  # Any failure of one signal's backend; the other signals still answer.
            if backend not in self.unavailable:
                log.warning("%s unavailable, searching without it: %s", backend, exc)
                self.unavailable[backend] = (str(exc), time.time())
            else:
                self.unavailable[backend] = (str(exc), self.unavailable[backend][1])
            return None
        if self.unavailable.pop(backend, None) is not None:
            log.info("%s is back; searching with it again", backend)
        return result

    def _graph(self, query: SearchQuery, rankings: dict[str, list[str]], allowed: set[str] | None) -> list[str]:
        seed_lists = {name: ranked[: self.settings.graph_seeds] for name, ranked in rankings.items()}
        seeds = [hit.chunk_id for hit in reciprocal_rank_fusion(seed_lists, self._weights(), self.settings.rrf_k)]
        ranked = graph_ranking(self.graph, query.query, seeds[: self.settings.graph_seeds])
        if allowed is None:
            return ranked
        owners = self._owners(ranked)
        return [chunk for chunk in ranked if owners.get(chunk) in allowed]

    def _weights(self, rankings: dict[str, list[str]] | None = None) -> dict[str, float]:
        """The signals' weights; a signal asked for alone counts fully even when its weight is 0."""
        s = self.settings
        weights = {"dense": s.weight_dense, "lexical": s.weight_lexical, "graph": s.weight_graph}
        if rankings is not None and not any(weights[signal] for signal in rankings):
            return dict.fromkeys(weights, 1.0)
        return weights

    def _owners(self, chunks: list[str]) -> dict[str, str]:
        return self.reads.chunk_files(chunks)

    def related(self, file_id: str, k: int) -> list[SearchHit]:
        """Passages of other files close to this one: by meaning (the file's mean vector) and by links in
        either direction, fused by reciprocal rank; one hit per file."""
        depth = max(self.settings.candidates, k * 4)
        rankings: dict[str, list[str]] = {}
        centroid = self._guarded("vectors", lambda: self.vectors.file_centroid(file_id))
        if centroid is not None:
            dense = self._guarded("vectors", lambda: self.vectors.search(centroid, depth))
            rankings["dense"] = [chunk for chunk, _ in dense or []]
        rankings["graph"] = self._guarded("graph", lambda: self.graph.linked_files_first_chunks(file_id)) or []
        others = {row.id for row in self._file_rows() if row.id != file_id}
        weights = {"dense": self.settings.weight_dense, "graph": _RELATED_GRAPH_WEIGHT}
        fused = reciprocal_rank_fusion(rankings, weights, self.settings.rrf_k)
        hits: list[SearchHit] = []
        for hit in self._hits(fused, parse_query(query=""), k * 4, others):
            if all(hit.uri != kept.uri for kept in hits):
                hits.append(hit)
        return hits[:k]

    # Filters ----------------------------------------------------------------------------------------

    def _allowed_files(self, query: SearchQuery) -> set[str] | None:
        """File ids passing the query's filters, or None when it has none."""
        if not (query.path or query.kind or query.language or query.root):
            return None
        spec = pathspec.GitIgnoreSpec.from_lines([query.path]) if query.path else None
        return {
            f.id
            for f in self._file_rows()
            if (spec is None or spec.match_file(f.rel_path))
            and (query.kind is None or f.kind == query.kind)
            and (query.language is None or f.language == query.language)
            and (query.root is None or f.root == query.root)
        }

    def _file_rows(self) -> list[FileFacts]:
        generation = self.store.files_generation()
        with self._lock:
            if self._files[0] != generation:
                self._files = (generation, self.reads.file_facts())
            return self._files[1]

    # Results ----------------------------------------------------------------------------------------

    def _hits(self, fused: list[Fused], query: SearchQuery, k: int, allowed: set[str] | None) -> list[SearchHit]:
        """The top k hits with their locations, keeping one of any overlapping chunks of a file."""
        kept: list[SearchHit] = []
        for start in range(0, len(fused), k * 3):
            window = fused[start : start + k * 3]
            rows = self.reads.hit_chunks([hit.chunk_id for hit in window])
            for hit in window:
                row = rows.get(hit.chunk_id)
                if row is None or (allowed is not None and row.file_id not in allowed):
                    continue
                result = _to_hit(hit, row, query.query)
                if not any(_overlaps(result, other) for other in kept):
                    kept.append(result)
                if len(kept) == k:
                    return kept
        return kept


def _to_hit(hit: Fused, row: HitChunk, query: str) -> SearchHit:
    start_line, start_char, end_line, end_char = row.span
    snippet = make_snippet(row.text, start_line, query)
    return SearchHit(
        uri=(Path(row.root) / row.rel_path).as_uri(),
        path=row.rel_path,
        root=row.root,
        range=Range(Position(start_line, start_char), Position(end_line, end_char)),
        snippet=snippet.text,
        snippet_line=snippet.line,
        highlights=snippet.highlights,
        symbol=row.symbol or None,
        heading=list(row.heading_path),
        kind=row.kind,
        language=row.language,
        score=round(hit.score, 6),
        provenance=hit.provenance,
        ranks=dict(hit.ranks),
        chunk_id=hit.chunk_id,
        symbol_kind=row.symbol_kind or None,
        definition=_definition_range(row.definition) if row.symbol_kind and row.definition else None,
    )


def _definition_range(span: Span) -> Range:
    start_line, start_char, end_line, end_char = span
    return Range(Position(start_line, start_char), Position(end_line, end_char))


def _overlaps(a: SearchHit, b: SearchHit) -> bool:
    return a.uri == b.uri and a.range.start.line <= b.range.end.line and b.range.start.line <= a.range.end.line
