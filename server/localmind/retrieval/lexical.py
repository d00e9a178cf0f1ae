"""BM25 over the FTS5 index, with code-aware query terms.

Each query term is passed as a quoted FTS5 string inside a bound parameter, so FTS5 operators, quotes
and column filters that a user types are searched for as words and never parsed as query syntax.
"""

from __future__ import annotations

import json

from localmind.indexing.terms import query_terms
from localmind.stores.sqlite_store import SqliteStore

_MAX_TERMS = 64
# A term found in more than this share of all chunks has an inverse document frequency near zero: it
# barely moves BM25's ranking, yet reading its long posting list is most of a query's cost.
_COMMON_SHARE = 0.2
# Below this many chunks every query is fast, so every term is kept.
_PRUNE_FROM_CHUNKS = 10_000


def fts_expression(query: str, terms: list[str] | None = None) -> str | None:
    """'"term" OR "term" …' from the words of a query; None when it has no words."""
    terms = (query_terms(query) if terms is None else terms)[:_MAX_TERMS]
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def informative_terms(store: SqliteStore, terms: list[str]) -> list[str]:
    """The terms that some chunk holds, without the very common ones in a large index (unless nothing
    else is left)."""
    total = int(store.query("SELECT COUNT(*) FROM chunks")[0][0])  # type: ignore[call-overload]
    if total < _PRUNE_FROM_CHUNKS:
        return terms
    rows = store.query(
        "SELECT term, doc FROM chunks_fts_vocab WHERE term IN (SELECT value FROM json_each(?))", (json.dumps(terms),)
    )
    frequency = {str(term): int(doc) for term, doc in rows}  # type: ignore[call-overload]
    present = [t for t in terms if t in frequency]
    informative = [t for t in present if frequency[t] <= _COMMON_SHARE * total]
    return informative or present


def bm25_search(store: SqliteStore, query: str, limit: int, allowed_files: set[str] | None) -> list[str]:
    """Chunk ids, best BM25 first."""
    expression = fts_expression(query, informative_terms(store, query_terms(query)))
    if expression is None:
        return []
    if allowed_files is None:
        # FTS5 finds the top rows by rank before the join, which is much faster than sorting every match.
        sql = (
            "SELECT c.id FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) AS m "
            "JOIN chunks c ON c.rid = m.rowid ORDER BY m.rank"
        )
        return [str(row[0]) for row in store.query(sql, (expression, limit))]
    sql = (
        "SELECT c.id FROM chunks_fts JOIN chunks c ON c.rid = chunks_fts.rowid WHERE chunks_fts MATCH ? "
        "AND c.file_id IN (SELECT value FROM json_each(?)) ORDER BY rank LIMIT ?"
    )
    return [str(row[0]) for row in store.query(sql, (expression, json.dumps(sorted(allowed_files)), limit))]
