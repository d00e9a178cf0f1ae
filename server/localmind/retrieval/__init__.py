"""Retrieval: hybrid search (dense + BM25 + graph, fused by reciprocal rank) returning editor locations."""

from localmind.retrieval.query import QueryError, SearchQuery, parse_query
from localmind.retrieval.results import SearchHit
from localmind.retrieval.searcher import Searcher

__all__ = ["QueryError", "SearchHit", "SearchQuery", "Searcher", "parse_query"]
