"""A workspace of two folders: one search spans both, and the root filter keeps to one."""

from __future__ import annotations

from pathlib import Path

from localmind.config import RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.retrieval import Searcher, parse_query
from localmind.stores.sqlite_store import SqliteStore


def test_search_spans_roots_and_filters_by_root(tmp_path: Path, run_index, fp32: OnnxEmbedder) -> None:
    notes, code = tmp_path / "notes", tmp_path / "code"
    notes.mkdir()
    code.mkdir()
    (notes / "billing.md").write_text("# Billing\n\nInvoices are computed by `compute_invoice` every month.\n")
    (code / "billing.py").write_text("def compute_invoice(customer):\n    return customer.plan.price\n")
    _, workspace = run_index(notes, code)
    searcher = Searcher(SqliteStore(workspace.store_path), fp32, RetrievalSettings())
    everywhere = {Path(hit.root).name for hit in searcher.search(parse_query(query="compute_invoice"))}
    assert everywhere == {"notes", "code"}
    only_code = searcher.search(parse_query(query="compute_invoice", root=str(code.resolve())))
    assert only_code and {Path(hit.root).name for hit in only_code} == {"code"}
    assert only_code[0].uri == (code / "billing.py").resolve().as_uri()
