"""BM25 over the FTS5 index, with code-aware query terms.

Each query term is passed as a quoted FTS5 string inside a bound parameter, so FTS5 operators, quotes
and column filters that a user types are searched for as words and never parsed as query syntax.
"""

from __future__ import annotations

import json

from localmind.indexing.terms import query_terms
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
    total = int(store.query("SELECT COUNT(*) FROM chunks")[0][0])  # type: ignore[call-overload]
    if total < _PRUNE_FROM_CHUNKS:
        return terms
    rows = store.query(
        "SELECT term, doc FROM chunks_fts_vocab WHERE term IN (SELECT value FROM json_each(?))", (json.dumps(terms),)
    )
    frequency = {str(term): int(doc) for term, doc in rows}  # type: ignore[call-overload]
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
    expression = fts_expression(query, informative_terms(store, query_terms(query)))
    if expression is None:
        return []
    # The top rows are found before the join, which is much faster than sorting every match. Ordering by
    # bm25() rather than by FTS5's `rank` column gives the same order in about two thirds of the time.
    if allowed_files is None:
        sql = (
            "SELECT c.id FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY score LIMIT ?) AS m JOIN chunks c ON c.rid = m.rowid ORDER BY m.score"
        )
        return [str(row[0]) for row in store.query(sql, (expression, limit))]
    # The unary + keeps the rowid test away from FTS5, which would otherwise run the whole MATCH once per
    # allowed row; as a plain filter it is three times faster than joining every match to its file.
    sql = (
        "SELECT c.id FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
        "AND +rowid IN (SELECT rid FROM chunks WHERE file_id IN (SELECT value FROM json_each(?))) "
        "ORDER BY score LIMIT ?) AS m JOIN chunks c ON c.rid = m.rowid ORDER BY m.score"
    )
    return [str(row[0]) for row in store.query(sql, (expression, json.dumps(sorted(allowed_files)), limit))]
