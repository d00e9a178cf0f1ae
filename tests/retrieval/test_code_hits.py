"""Search hits on code name the innermost definition, land on its first line, and stand for it whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localmind.config import IndexingSettings, RetrievalSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer
from localmind.indexing.workspace import open_workspace
from localmind.retrieval import Searcher, parse_query
from localmind.stores.sqlite_store import SqliteStore

LEDGER = '''"""Invoices and their payments."""

import time


class Ledger:
    """Keeps the invoices of one customer."""

    currency = "EUR"

    def __init__(self, owner):
        self.owner = owner
        self.invoices = []

    @staticmethod
    def late_fee(amount, days_late):
        """The fee charged on an invoice paid after its due date: two percent a week."""
        weeks = days_late // 7
        return round(amount * 0.02 * weeks, 2)

    def retry_failed_payment(self, invoice, gateway):
        """Charge a failed payment again, waiting longer after each refusal."""
'''
LEDGER += "".join(
    f"        delay_{step} = {2**step} * 60  # wait before attempt {step}\n"
    f"        time.sleep(delay_{step})\n"
    f"        if gateway.charge(invoice, attempt={step}):\n"
    f"            return True\n"
    for step in range(14)
)
LEDGER += "        return False\n"
# Docs that describe the retry at length, in the words a user would ask with.
PAYMENTS = "".join(
    f"# Failed payments, part {part}\n\nWhen a payment fails, the ledger retries the failed payment and waits "
    f"longer after each refusal: a failed payment is retried up to {part + 13} times.\n\n"
    for part in range(4)
)
NOTE = "---\ntitle: Billing handbook\ntags: [billing]\n---\n\n# Billing handbook\n\nCustomers get a receipt by mail.\n"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, fp32: OnnxEmbedder) -> Iterator[Searcher]:
    root = tmp_path_factory.mktemp("code-hits") / "ws"
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "ledger.py").write_text(LEDGER, encoding="utf-8")
    (root / "handbook.md").write_text(NOTE, encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "payments.md").write_text(PAYMENTS, encoding="utf-8")
    settings = IndexingSettings(data_dir=tmp_path_factory.mktemp("code-hits-data"))
    workspace = open_workspace([root], settings)
    Indexer(workspace, settings, fp32).run()
    searcher = Searcher(SqliteStore(workspace.store_path), fp32, RetrievalSettings())
    yield searcher
    searcher.close()
    searcher.store.close()


def line_of(text: str) -> int:
    return LEDGER.split("\n").index(text)


def test_a_method_hit_names_its_qualified_symbol_and_lands_on_its_first_line(searcher: Searcher) -> None:
    [hit, *_] = searcher.search(parse_query(query="fee charged when an invoice is paid late", k=3))
    assert hit.symbol == "Ledger.late_fee" and hit.symbol_kind == "method"
    assert hit.range.start.line == line_of("    @staticmethod")
    assert hit.definition is not None and hit.definition.start.line == hit.range.start.line
    assert hit.definition.end.line == line_of("        return round(amount * 0.02 * weeks, 2)")


def test_a_large_method_is_one_hit_whichever_part_matched(searcher: Searcher) -> None:
    parts = searcher.store.query("SELECT COUNT(*) FROM chunks WHERE symbol = 'Ledger.retry_failed_payment'")
    assert int(parts[0][0]) >= 2  # type: ignore[call-overload]
    hits = searcher.search(parse_query(query="retry a failed payment with growing delays", k=10))
    retry = [hit for hit in hits if hit.symbol == "Ledger.retry_failed_payment"]
    assert len(retry) == 1
    definition = retry[0].definition
    assert definition is not None and definition.start.line == line_of(
        "    def retry_failed_payment(self, invoice, gateway):"
    )


def test_the_class_header_is_its_own_hit_and_prose_skips_its_front_matter(searcher: Searcher) -> None:
    hits = searcher.search(parse_query(query="which customer the invoices belong to", k=10))
    header = next(hit for hit in hits if hit.symbol == "Ledger")
    assert header.symbol_kind == "class" and header.range.start.line == line_of("class Ledger:")
    note = next(hit for hit in searcher.search(parse_query(query="receipt by mail", k=10)) if hit.kind == "notes")
    assert note.range.start.line == 5 and "title:" not in note.snippet
    assert note.symbol is None and note.definition is None


def test_the_code_that_does_it_comes_before_the_docs_that_describe_it(searcher: Searcher) -> None:
    query = "how is a failed payment retried, waiting longer after each refusal"
    for signal in ("dense", "lexical"):
        [first] = searcher.search(parse_query(query=query, k=1, signals=(signal,)))
        assert first.path == "docs/payments.md", f"{signal} alone ranks the docs first"
    hits = searcher.search(parse_query(query=query, k=5))
    assert hits[0].symbol == "Ledger.retry_failed_payment"
    assert hits[0].ranks == {"dense": 1, "lexical": 1}, "ranked among code, not behind the docs"
    assert hits[1].path == "docs/payments.md"


def test_a_note_that_matches_well_still_comes_first(searcher: Searcher) -> None:
    [hit, *_] = searcher.search(parse_query(query="customers get a receipt by mail", k=3))
    assert hit.path == "handbook.md"


def test_a_signal_asked_for_alone_keeps_its_own_order(searcher: Searcher) -> None:
    for query in ("receipt by mail", "invoice currency", "wait before the next attempt"):
        ranked = searcher.rankings(parse_query(query=query, signals=("dense",)), None)["dense"]
        [hit] = searcher.search(parse_query(query=query, k=1, signals=("dense",)))
        assert hit.chunk_id == ranked[0]
