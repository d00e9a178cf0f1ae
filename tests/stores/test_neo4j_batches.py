"""Batches and orphans in the Neo4j graph: a batch of files, written or deleted in one transaction, leaves
exactly the graph that the same files one at a time leave; orphans are counted and removed per workspace; a
transient error the server reports is retried once.

Graphs are compared whole: every node of a workspace with its labels and properties, and every relationship
with its type, properties and ends (the workspace key itself left out, so two workspaces can be compared)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from neo4j import Transaction
from neo4j.exceptions import ClientError, TransientError

import localmind.stores.neo4j_graph as neo4j_graph
from localmind.config import GraphSettings
from localmind.resilience import is_transient
from localmind.stores.neo4j_driver import BackendError
from localmind.stores.neo4j_graph import Neo4jGraph
from localmind.stores.records import FileUpdate, SectionRecord
from tests.stores.test_graph_contract import CORPUS_UPDATES, Sym, hand_update, notes

Snapshot = tuple[Counter[str], Counter[str]]


@dataclass
class Graphs:
    """Opens graphs on the test server, each in a workspace of its own, and removes those workspaces after."""

    settings: GraphSettings
    prefix: str
    opened: list[tuple[str, Neo4jGraph]]

    def open(self, name: str) -> Neo4jGraph:
        workspace = f"{self.prefix}-{name}"
        graph = Neo4jGraph(self.settings, workspace)
        self.opened.append((workspace, graph))
        return graph

    def snapshot(self, graph: Neo4jGraph) -> Snapshot:
        """Every node and every relationship of the graph's workspace, as comparable text, counted."""
        workspace = self.workspace_of(graph)
        nodes = self.run(
            "MATCH (n {workspace: $workspace}) RETURN labels(n) AS labels, properties(n) AS properties",
            workspace=workspace,
        )
        relationships = self.run(
            "MATCH (a {workspace: $workspace})-[r]->(b) "
            "RETURN labels(a) AS a_labels, properties(a) AS a, type(r) AS type, properties(r) AS properties, "
            "labels(b) AS b_labels, properties(b) AS b",
            workspace=workspace,
        )
        return (
            Counter(node_text(record["labels"], record["properties"]) for record in nodes),
            Counter(relationship_text(record) for record in relationships),
        )

    def workspace_of(self, graph: Neo4jGraph) -> str:
        return next(workspace for workspace, opened in self.opened if opened is graph)

    def run(self, query: str, **parameters: Any) -> list[Any]:
        """A query sent behind the adapter's back, as another tool would."""
        graph = self.opened[0][1]
        records, _, _ = graph.driver.execute_query(query, parameters, database_=self.settings.database)
        return list(records)


@pytest.fixture()
def graphs(neo4j_settings: GraphSettings, workspace_key: str) -> Iterator[Graphs]:
    opened = Graphs(neo4j_settings, workspace_key, [])
    yield opened
    if opened.opened:
        opened.run(
            "UNWIND $workspaces AS workspace MATCH (n {workspace: workspace}) DETACH DELETE n",
            workspaces=[workspace for workspace, _ in opened.opened],
        )
    for _, graph in opened.opened:
        graph.close()


def node_text(labels: list[str], properties: dict[str, Any]) -> str:
    """A node as text without its workspace key, which its properties and its mention keys carry."""
    shown = {k: v for k, v in properties.items() if k != "workspace"}
    if "mention_keys" in shown:
        prefix = properties["workspace"] + " "
        assert all(key.startswith(prefix) for key in shown["mention_keys"])
        shown["mention_keys"] = [key.removeprefix(prefix) for key in shown["mention_keys"]]
    return json.dumps([sorted(labels), shown], sort_keys=True)


def relationship_text(record: Any) -> str:
    ends = node_text(record["a_labels"], record["a"]), node_text(record["b_labels"], record["b"])
    return json.dumps([ends[0], record["type"], record["properties"], ends[1]], sort_keys=True)


# Steps: what a scenario does to a graph, either as batches or one file at a time. -----------------------------

Step = tuple[str, Sequence[Any]]  # ("write", updates) or ("delete", file ids).


def apply_batched(graph: Neo4jGraph, steps: list[Step]) -> None:
    for kind, items in steps:
        if kind == "write":
            graph.write_files(items)
        else:
            graph.delete_files(items)


def apply_one_by_one(graph: Neo4jGraph, steps: list[Step]) -> None:
    for kind, items in steps:
        for item in items:
            if kind == "write":
                graph.write_file(item)
            else:
                graph.delete_file(item)


def changed_notes() -> dict[str, FileUpdate]:
    """The notes after an edit: alpha links elsewhere and tags differently, gamma renames a symbol."""
    n = notes()
    return n | {
        "alpha": hand_update(
            "notes/alpha.md",
            ["# Alpha\nNow see [[gamma]].", "We call parse_other here."],
            mentions=[(1, "parse_other"), (1, "Helper")],
            tags=[(None, "design"), (1, "Review")],
            links=[(0, "wiki", "gamma"), (1, "import", "src/beta.py")],
        ),
        "gamma": hand_update(
            "src/gamma.py",
            ["class Helper: ...", "def parse_other(): return Helper()", "# trailing"],
            symbols=[Sym(0, "Helper", "gamma.Helper"), Sym(1, "parse_other", "gamma.parse_other")],
            mentions=[(1, "Helper"), (2, "parse_thing")],
            tags=[(None, "code")],
        ),
    }


def with_section(update: FileUpdate) -> FileUpdate:
    """The update with one section holding its first chunk, so that Section nodes and IN_SECTION take part."""
    section = SectionRecord(f"{update.file.id}:s0", update.file.id, "Top", 1, (0, 0, 1, 0), None)
    chunks = [replace(update.chunks[0], section_id=section.id), *update.chunks[1:]]
    return replace(update, chunks=chunks, sections=[section])


def ids(updates: Sequence[FileUpdate]) -> list[str]:
    return [update.file.id for update in updates]


def scenarios() -> dict[str, list[Step]]:
    n, c = notes(), changed_notes()
    corpus = CORPUS_UPDATES
    return {
        "the corpus": [("write", corpus)],
        "the corpus over itself, reversed": [("write", corpus), ("write", corpus[::-1])],
        "files that link to and mention each other": [("write", [with_section(u) for u in n.values()])],
        "an edit of linked files": [("write", list(n.values())), ("write", [c["gamma"], c["alpha"]])],
        "a file twice in one batch": [("write", [n["gamma"], n["alpha"], c["gamma"], n["beta"]])],
        "a batch of deletions": [
            ("write", list(n.values())),
            ("delete", [n["alpha"].file.id, n["gamma"].file.id, "no-such-file", n["alpha"].file.id]),
        ],
        "deleting half the corpus and writing it back": [
            ("write", corpus),
            ("delete", ids(corpus[::2])),
            ("write", corpus[::2]),
        ],
        "deleting everything": [("write", corpus), ("delete", ids(corpus))],
    }


@pytest.mark.parametrize("scenario", sorted(scenarios()))
def test_a_batch_leaves_the_graph_that_one_file_at_a_time_leaves(graphs: Graphs, scenario: str) -> None:
    steps = scenarios()[scenario]
    batched, one_by_one = graphs.open("batched"), graphs.open("one-by-one")
    apply_batched(batched, steps)
    apply_one_by_one(one_by_one, steps)
    expected = graphs.snapshot(one_by_one)
    assert graphs.snapshot(batched) == expected
    if scenario == "deleting everything":
        assert expected == (Counter(), Counter())
    else:
        assert expected[0] and expected[1]


def test_a_batch_split_into_many_statements_is_still_the_same_graph(
    graphs: Graphs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With three rows per statement, every statement of the batch (deletions included) is sent in parts."""
    batched, one_by_one = graphs.open("batched"), graphs.open("one-by-one")
    steps = scenarios()["deleting half the corpus and writing it back"]
    apply_one_by_one(one_by_one, steps)
    sent = count_statements(monkeypatch)
    monkeypatch.setattr(neo4j_graph, "_ROWS_PER_STATEMENT", 3)
    apply_batched(batched, steps)
    assert graphs.snapshot(batched) == graphs.snapshot(one_by_one)
    assert sent.statements > 100  # The corpus has thousands of rows: the split did happen.


def test_a_chunk_row_weighs_one_plus_the_names_it_mentions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk row carries the keys of the names it mentions; statements are cut by rows plus names, so none
    grows with the chunks' lists."""
    monkeypatch.setattr(neo4j_graph, "_ROWS_PER_STATEMENT", 4)
    rows = [{"id": "a", "mention_keys": ["x", "y"]}, {"id": "b", "mention_keys": ["x"]}]
    rows += [{"id": "c", "mention_keys": ["n1", "n2", "n3", "n4", "n5"]}, {"id": "d", "mention_keys": []}]
    rows += [{"id": "e", "mention_keys": []}]
    assert [[row["id"] for row in part] for part in neo4j_graph._slices(rows)] == [["a"], ["b"], ["c"], ["d", "e"]]
    assert neo4j_graph._slices(["f1", "f2", "f3", "f4", "f5"]) == [["f1", "f2", "f3", "f4"], ["f5"]]
    assert neo4j_graph._slices([]) == []


# Round trips ----------------------------------------------------------------------------------------------------


@dataclass
class Sent:
    statements: int = 0
    commits: int = 0


def count_statements(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Counts the statements and the commits the adapter sends from now on."""
    sent = Sent()
    run, commit = Transaction.run, Transaction.commit

    def counting_run(tx: Transaction, *args: Any, **kwargs: Any) -> Any:
        sent.statements += 1
        return run(tx, *args, **kwargs)

    def counting_commit(tx: Transaction) -> None:
        sent.commits += 1
        commit(tx)

    monkeypatch.setattr(Transaction, "run", counting_run)
    monkeypatch.setattr(Transaction, "commit", counting_commit)
    return sent


def similar_files(count: int) -> list[FileUpdate]:
    """Files with every kind of row, each mentioning and linking to the next one."""
    return [
        with_section(
            hand_update(
                f"notes/n{i}.md",
                [f"# Note {i}", f"calls fn_{(i + 1) % count}", "end"],
                symbols=[Sym(1, f"fn_{i}", f"n{i}.fn_{i}")],
                mentions=[(1, f"fn_{(i + 1) % count}"), (2, "shared_name")],
                tags=[(None, "batch"), (0, f"tag{i % 3}")],
                links=[(0, "wiki", f"n{(i + 1) % count}"), (None, "url", "https://example.com")],
            )
        )
        for i in range(count)
    ]


def test_a_batch_is_one_transaction_of_a_fixed_number_of_statements(
    graphs: Graphs, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = graphs.open("counted")
    sent = count_statements(monkeypatch)
    sent_by_size = {}
    for size in (2, 40):
        files = similar_files(size)
        graph.write_files(files)  # New files.
        graph.write_files(files)  # The same files again: now old nodes are gathered and deleted too.
        graph.delete_files(ids(files))
        sent_by_size[size], sent.statements, sent.commits = (sent.statements, sent.commits), 0, 0
    # Per call, at most: gather, delete owned, the file statement, eight row statements, delete unused shared.
    assert sent_by_size[2] == sent_by_size[40]
    statements, commits = sent_by_size[40]
    assert commits == 3 and statements <= 3 * 12
    graph.write_files([])
    graph.delete_files([])
    assert (sent.statements, sent.commits) == (0, 0)


# Orphans --------------------------------------------------------------------------------------------------------


def test_orphans_are_counted_by_label_and_deleted_with_what_only_they_used(graphs: Graphs) -> None:
    n = {name: with_section(update) for name, update in notes().items()}
    damaged, bystander, expected = graphs.open("damaged"), graphs.open("bystander"), graphs.open("expected")
    for graph in (damaged, bystander, expected):
        graph.write_files(list(n.values()))
    assert damaged.orphans() == {}
    lost = n["gamma"]  # Two chunks, four symbols, one section; its names are partly mentioned elsewhere.
    graphs.run(
        "MATCH (f:File {workspace: $workspace, id: $file_id}) DETACH DELETE f",
        workspace=graphs.workspace_of(damaged),
        file_id=lost.file.id,
    )
    assert damaged.orphans() == {"Chunk": 2, "Symbol": 4, "Section": 1}
    assert bystander.orphans() == {}
    assert damaged.delete_orphans() == 7
    assert damaged.orphans() == {} and damaged.delete_orphans() == 0
    expected.delete_file(lost.file.id)
    assert graphs.snapshot(damaged) == graphs.snapshot(expected)
    assert damaged.definitions_named(["ghost", "parse_thing"]) == []
    assert bystander.definitions_named(["parse_thing"]) == [("parse_thing", lost.chunks[1].id)]


# Transient errors -----------------------------------------------------------------------------------------------


def failing_first(monkeypatch: pytest.MonkeyPatch, errors: list[Exception]) -> list[int]:
    """Make the next write transactions fail with these errors, in order, before they send anything; answer a
    list holding how many transactions were begun."""
    begun = [0]
    gather: Callable[..., list[str]] = neo4j_graph._gather_shared

    def gather_or_fail(tx: Transaction, workspace: str, file_ids: list[str]) -> list[str]:
        begun[0] += 1
        if errors:
            raise errors.pop(0)
        return gather(tx, workspace, file_ids)

    monkeypatch.setattr(neo4j_graph, "_gather_shared", gather_or_fail)
    return begun


def test_a_transient_error_is_retried_once(graphs: Graphs, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = graphs.open("retried")
    update = notes()["alpha"]
    begun = failing_first(monkeypatch, [TransientError("a deadlock, as the server reports one")])
    graph.write_files([update])
    assert begun == [2]
    assert graph.file_inventory() == {update.file.id: {chunk.id for chunk in update.chunks}}


def test_a_second_transient_error_is_left_to_the_resilience_layer(
    graphs: Graphs, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = graphs.open("given-up")
    begun = failing_first(monkeypatch, [TransientError("deadlock"), TransientError("deadlock again")])
    with pytest.raises(BackendError) as failed:
        graph.write_files([notes()["alpha"]])
    assert begun == [2]
    assert failed.value.transient and is_transient(failed.value)
    assert graph.file_inventory() == {}


def test_an_error_that_is_not_transient_is_not_retried(graphs: Graphs, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = graphs.open("refused")
    begun = failing_first(monkeypatch, [ClientError("a mistake in the query")])
    with pytest.raises(BackendError) as failed:
        graph.delete_files(["some-file"])
    assert begun == [1]
    assert not failed.value.transient and not is_transient(failed.value)
