"""BM25 over the FTS5 index, with code-aware query terms.

Each query term is passed as a quoted FTS5 string inside a bound parameter, so FTS5 operators, quotes
and column filters that a user types are searched for as words and never parsed as query syntax.
"""

from __future__ import annotations

from localmind.indexing.terms import query_terms
from localmind.stores.ports import IndexReads
from localmind.stores.sqlite_store import SqliteStore

_MAX_TERMS = 64
# On a large index, the terms kept are the rarest ones whose posting lists together hold at most this
# share of all chunks. FTS5 scores every chunk that matches any term, so the common terms (whose low
# inverse document frequency barely moves the ranking) cost most of a query's time. Forced on for
# SciFact train, this rule cost BM25 0.001 nDCG@10 (0.835 → 0.834); a budget of 0.2 cost 0.007.
_POSTINGS_BUDGET = 0.5
# Below this many chunks every query is fast, so every term is kept.
_PRUNE_FROM_CHUNKS = 10_000


def fts_expression(query: str, terms: list[str] | None = None) -> str | None:
    """'"term" OR "term" …' from the words of a query; None when it has no words."""
    terms = (query_terms(query) if terms is None else terms)[:_MAX_TERMS]
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def informative_terms(store: SqliteStore, terms: list[str]) -> list[str]:
    """On a large index, the rarest terms that some chunk holds, within the postings budget (always at
    least one); on a small one, every term."""
    return _informative_terms(store.reads, terms)


def _informative_terms(reads: IndexReads, terms: list[str]) -> list[str]:
    """The informative terms, from the index's chunk count and the terms' document frequencies."""
    total = reads.chunk_count()
    if total < _PRUNE_FROM_CHUNKS:
        return terms
    frequency = reads.fts_document_frequencies(terms)
    kept: set[str] = set()
    postings = 0
    for term in sorted(frequency, key=frequency.__getitem__):
        if kept and postings + frequency[term] > _POSTINGS_BUDGET * total:
            break
        kept.add(term)
        postings += frequency[term]
    return [term for term in terms if term in kept]


def bm25_search(store: SqliteStore, query: str, limit: int, allowed_files: set[str] | None) -> list[str]:
    """Chunk ids, best BM25 first."""
    reads = store.reads
    expression = fts_expression(query, _informative_terms(reads, query_terms(query)))
    if expression is None:
        return []
    return reads.bm25_chunk_ids(expression, limit, allowed_files)
