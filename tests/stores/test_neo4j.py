"""What only the Neo4j adapter has: schema migrations, the shared driver, credentials that never leak, clear
errors, index-backed queries, and a server that goes away and comes back."""

from __future__ import annotations

import logging
import re
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver, GraphDatabase

import localmind.stores.neo4j_graph as neo4j_graph
from localmind.config import GraphSettings
from localmind.errors import ConfigError
from localmind.resilience import is_transient
from localmind.stores.neo4j_driver import BackendError
from localmind.stores.neo4j_graph import Neo4jGraph
from localmind.stores.neo4j_migrations import (
    CURRENT_VERSION,
    DATA_STATEMENT_TIMEOUT_S,
    INDEX_WAIT_SECONDS,
    MIGRATIONS,
    SCHEMA_KEY,
    SCHEMA_STATEMENT_TIMEOUT_S,
    check_schema,
    migrate,
    migrate_database,
    schema_version,
)
from localmind.stores.ports import StoreError
from tests.servers.closing_listener import ClosingListener
from tests.stores.conftest import Neo4jEndpoint
from tests.stores.test_graph_contract import notes

# Every query the adapter sends, by its constant's name; each must start from an index, never a scan.
QUERIES = {
    name: value for name, value in vars(neo4j_graph).items() if name.startswith(("_WRITE", "_DELETE", "_GATHER"))
}
PLANNED_WORKSPACES = 30
QUERIES |= {
    name: getattr(neo4j_graph, name)
    for name in (
        "_DEFINITIONS_MENTIONED_BY",
        "_MENTIONS_OF_DEFINITIONS_IN",
        "_LINKED_CHUNKS",
        "_DEFINITIONS_NAMED",
        "_MENTIONS_NAMED",
        "_TAGGED_CHUNKS",
        "_LINKED_FILES_FIRST_CHUNKS",
        "_FILE_INVENTORY",
        "_COUNT_ORPHANS",
    )
}


@pytest.fixture(scope="module")
def admin(neo4j_server: Neo4jEndpoint) -> Iterator[Driver]:
    """A driver of the tests' own, to look at and tamper with the database behind the adapter's back."""
    with GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)) as driver:
        yield driver


@pytest.fixture()
def database(neo4j_settings: GraphSettings, admin: Driver) -> Iterator[str]:
    """The test database, with its schema put back to the current version afterwards, whatever the test did."""
    yield neo4j_settings.database
    set_version(admin, neo4j_settings.database, CURRENT_VERSION)
    migrate(admin, neo4j_settings.database)


def changed(settings: GraphSettings, changes: dict[str, object]) -> GraphSettings:
    """A validated copy of the settings with some values changed."""
    return GraphSettings.model_validate({**settings.model_dump(), **changes})


def set_version(driver: Driver, database: str, version: int) -> None:
    driver.execute_query(
        "MERGE (s:LocalMindSchema {key: $key}) SET s.version = $version",
        key=SCHEMA_KEY,
        version=version,
        database_=database,
    )


def forget_schema(driver: Driver, database: str) -> None:
    """Make the database look as if Local Mind had never used it: no schema record, no constraints or indexes."""
    driver.execute_query("MATCH (s:LocalMindSchema) DELETE s", database_=database)
    for show, drop in (("SHOW CONSTRAINTS", "DROP CONSTRAINT $name"), ("SHOW INDEXES", "DROP INDEX $name IF EXISTS")):
        records, _, _ = driver.execute_query(
            f"{show} YIELD name WHERE name STARTS WITH 'localmind_' RETURN name", database_=database
        )
        for record in records:
            driver.execute_query(drop, name=record["name"], database_=database)


def schema_names(driver: Driver, database: str) -> set[str]:
    records, _, _ = driver.execute_query(
        "SHOW INDEXES YIELD name WHERE name STARTS WITH 'localmind_' RETURN name", database_=database
    )
    return {record["name"] for record in records}


# Migrations ----------------------------------------------------------------------------------------------------


def test_a_database_new_to_local_mind_gets_the_current_schema(
    neo4j_settings: GraphSettings, admin: Driver, database: str, workspace_key: str
) -> None:
    forget_schema(admin, database)
    assert schema_version(admin, database) is None and not schema_names(admin, database)
    graph = Neo4jGraph(neo4j_settings, workspace_key)
    graph.close()
    assert schema_version(admin, database) == CURRENT_VERSION
    assert {"localmind_chunk_key", "localmind_chunk_file", "localmind_tag_folded"} <= schema_names(admin, database)


def test_a_database_from_a_newer_local_mind_is_refused(
    neo4j_settings: GraphSettings, admin: Driver, database: str, workspace_key: str
) -> None:
    set_version(admin, database, CURRENT_VERSION + 1)
    with pytest.raises(StoreError, match="newer Local Mind") as refused:
        Neo4jGraph(neo4j_settings, workspace_key)
    assert f"schema {CURRENT_VERSION + 1}" in str(refused.value) and "upgrade localmind" in str(refused.value)
    with pytest.raises(StoreError, match="newer Local Mind"):
        migrate_database(neo4j_settings)


def test_an_older_database_waits_for_localmind_migrate(
    neo4j_settings: GraphSettings, admin: Driver, database: str, workspace_key: str
) -> None:
    set_version(admin, database, 1)
    with pytest.raises(StoreError, match="run `localmind migrate`"):
        Neo4jGraph(neo4j_settings, workspace_key)
    assert migrate_database(neo4j_settings) == [m.version for m in MIGRATIONS if m.version > 1]
    assert migrate_database(neo4j_settings) == []
    assert check_schema(admin, database) == CURRENT_VERSION
    Neo4jGraph(neo4j_settings, workspace_key).close()


def test_schema_statements_carry_their_own_transaction_timeout(
    neo4j_settings: GraphSettings, admin: Driver, database: str, workspace_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each statement of a migration begins a transaction with the migration's timeout, whatever the server's
    default for transactions is; the wait for indexes gets its own wait on top, and each data statement (which
    commits as it goes, so it runs outside a transaction) its own long one."""
    forget_schema(admin, database)
    caplog.set_level(logging.DEBUG, logger="neo4j")
    Neo4jGraph(neo4j_settings, workspace_key).close()
    timeouts = Counter(
        int(found.group(1))
        for record in caplog.records
        if re.search(" C: (BEGIN|RUN) ", record.getMessage())
        and (found := re.search(r"'tx_timeout': (\d+)", record.getMessage()))
    )
    statement_ms, wait_ms, data_ms = (
        int(SCHEMA_STATEMENT_TIMEOUT_S * 1000),
        int((INDEX_WAIT_SECONDS + SCHEMA_STATEMENT_TIMEOUT_S) * 1000),
        int(DATA_STATEMENT_TIMEOUT_S * 1000),
    )
    statements = sum(len(m.statements) for m in MIGRATIONS)
    data = sum(len(m.data) for m in MIGRATIONS)
    assert data > 0
    assert timeouts == {statement_ms: statements + len(MIGRATIONS), wait_ms: len(MIGRATIONS), data_ms: data}


def test_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(re.search("IF (NOT )?EXISTS", statement) for m in MIGRATIONS for statement in m.statements)
    assert all("IN TRANSACTIONS" in statement for m in MIGRATIONS for statement in m.data)


def as_schema_2(driver: Driver, database: str) -> None:
    """Turn the database back into what Local Mind wrote at schema 2: a Name node per name, MENTIONS edges from
    the chunks and NAMED edges from the symbols, the names' constraint, and neither index of schema 3."""
    for statement in (
        "MATCH (c:Chunk) WHERE c.mention_keys IS NOT NULL UNWIND c.mention_keys AS key "
        "MERGE (n:Name {workspace: c.workspace, name: substring(key, size(c.workspace) + 1)}) "
        "CREATE (c)-[:MENTIONS]->(n)",
        "MATCH (c:Chunk) REMOVE c.mention_keys",
        "MATCH (s:Symbol) MERGE (n:Name {workspace: s.workspace, name: s.name}) MERGE (s)-[:NAMED]->(n)",
        "DROP INDEX localmind_chunk_mentions IF EXISTS",
        "DROP INDEX localmind_symbol_name IF EXISTS",
        "CREATE CONSTRAINT localmind_name_key IF NOT EXISTS FOR (n:Name) REQUIRE (n.workspace, n.name) IS UNIQUE",
    ):
        driver.execute_query(statement, database_=database)
    set_version(driver, database, 2)


def count(driver: Driver, database: str, query: str, **parameters: str) -> int:
    records, _, _ = driver.execute_query(query, parameters, database_=database)
    return int(records[0][0])


def test_migration_3_turns_the_mention_edges_of_schema_2_into_lists(
    neo4j_settings: GraphSettings, admin: Driver, database: str, workspace_key: str
) -> None:
    """A database written at schema 2 answers every mention query as before once `localmind migrate` ran,
    and holds no Name node or MENTIONS edge any more."""
    graph = Neo4jGraph(neo4j_settings, workspace_key)
    try:
        updates = list(notes().values())
        graph.write_files(updates)
        chunks = [chunk.id for update in updates for chunk in update.chunks]
        names = sorted({name for u in updates for _, name in u.mentions} | {s.name for u in updates for s in u.symbols})
        before = mention_answers(graph, chunks, names)
        assert all(before.values())
        as_schema_2(admin, database)
        mentions = "MATCH (:Chunk {workspace: $workspace})-[m:MENTIONS]->(:Name) RETURN count(m)"
        assert count(admin, database, mentions, workspace=workspace_key) == 6
        with pytest.raises(StoreError, match="run `localmind migrate`"):
            Neo4jGraph(neo4j_settings, workspace_key)
        assert migrate_database(neo4j_settings) == [3]
        assert mention_answers(graph, chunks, names) == before
        assert count(admin, database, "MATCH (n:Name) RETURN count(n)") == 0  # In every workspace.
        assert count(admin, database, "MATCH ()-[m:MENTIONS|NAMED]->() RETURN count(m)") == 0
    finally:
        graph.close()


def mention_answers(graph: Neo4jGraph, chunks: list[str], names: list[str]) -> dict[str, list[tuple[str, str]]]:
    return {
        "definitions_mentioned_by": sorted(graph.definitions_mentioned_by(chunks)),
        "mentions_of_definitions_in": sorted(graph.mentions_of_definitions_in(chunks)),
        "definitions_named": sorted(graph.definitions_named(names)),
        "mentions_named": sorted(graph.mentions_named(names)),
    }


# The shared driver ---------------------------------------------------------------------------------------------


def test_graphs_on_one_server_share_one_driver_until_the_last_closes(
    neo4j_settings: GraphSettings, workspace_key: str
) -> None:
    first = Neo4jGraph(neo4j_settings, workspace_key)
    second = Neo4jGraph(changed(neo4j_settings, {"pool_size": 3}), f"{workspace_key}-2")
    shared = first.driver
    assert second.driver is shared
    first.close()
    first.close()  # Closing twice gives back one reference only.
    assert second.file_inventory() == {}
    second.close()
    assert shared._closed  # The driver has no public flag for this.
    third = Neo4jGraph(neo4j_settings, workspace_key)
    assert third.driver is not shared
    third.close()


def test_other_credentials_never_borrow_an_open_driver(neo4j_settings: GraphSettings, workspace_key: str) -> None:
    graph = Neo4jGraph(neo4j_settings, workspace_key)
    try:
        wrong = changed(neo4j_settings, {"password": "not-the-password-1"})
        with pytest.raises(BackendError, match=r"graph\.password"):
            Neo4jGraph(wrong, workspace_key)
    finally:
        graph.close()


# Credentials and errors ----------------------------------------------------------------------------------------


def test_the_password_appears_in_no_repr_log_or_error(
    neo4j_settings: GraphSettings, neo4j_server: Neo4jEndpoint, workspace_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    graph = Neo4jGraph(neo4j_settings, workspace_key)
    for update in notes().values():
        graph.write_file(update)
    graph.definitions_named(["parse_thing"])
    shown = [repr(graph), repr(neo4j_settings), str(neo4j_settings), repr(graph.driver)]
    graph.close()
    wrong = "W0ng-secret-value"
    with pytest.raises(BackendError) as refused:
        Neo4jGraph(changed(neo4j_settings, {"password": wrong}), workspace_key)
    assert "C: LOGON" in caplog.text  # The driver's own debug log, where the credentials travel, was captured.
    for text in [*shown, caplog.text, str(refused.value)]:
        assert neo4j_server.password not in text
        assert wrong not in text


def test_a_wrong_password_names_the_setting_not_the_value(neo4j_settings: GraphSettings, workspace_key: str) -> None:
    wrong = changed(neo4j_settings, {"password": "definitely-wrong-99"})
    with pytest.raises(BackendError) as refused:
        Neo4jGraph(wrong, workspace_key)
    message = str(refused.value)
    assert "graph.password" in message and "definitely-wrong-99" not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert not refused.value.transient and not is_transient(refused.value)  # Retrying would not help.


def test_a_weak_password_is_warned_about(
    neo4j_settings: GraphSettings, workspace_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Another user, so the failed login does not count against the neo4j user's lockout.
    weak = changed(neo4j_settings, {"user": "weak-password-test", "password": "changeme"})
    with pytest.raises(BackendError):
        Neo4jGraph(weak, workspace_key)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "graph.password" in r.getMessage()]
    assert warnings and "changeme" not in caplog.text
    caplog.clear()
    Neo4jGraph(neo4j_settings, workspace_key).close()
    assert "well-known" not in caplog.text


def test_a_missing_password_is_a_config_error(workspace_key: str) -> None:
    with pytest.raises(ConfigError, match=r"graph\.password"):
        Neo4jGraph(GraphSettings(backend="neo4j"), workspace_key)


def test_the_password_can_come_from_a_file(neo4j_server: Neo4jEndpoint, workspace_key: str, tmp_path: Path) -> None:
    secret = tmp_path / "neo4j-password"
    secret.write_text(neo4j_server.password + "\n")
    settings = neo4j_server.settings(password=None, password_file=secret)
    Neo4jGraph(settings, workspace_key).close()


def test_a_server_that_is_not_there_fails_fast_and_names_the_uri(workspace_key: str) -> None:
    """Fast means after one connection attempt (the driver retries nothing, neo4j_driver.py), counted
    rather than timed: a retry would be one more connection."""
    with ClosingListener() as dead:
        settings = GraphSettings(backend="neo4j", uri=f"bolt://127.0.0.1:{dead.port}", password="some-password-1")
        with pytest.raises(BackendError, match=r"cannot reach Neo4j .*graph\.uri") as refused:
            Neo4jGraph(settings, workspace_key)
        assert dead.connections == 1, "one connection attempt, no retry"
    assert refused.value.transient, "the resilience layer above may try again later"


def test_a_uri_the_driver_cannot_use_names_the_setting(workspace_key: str) -> None:
    settings = GraphSettings(backend="neo4j", uri="http://127.0.0.1:7474", password="some-password-1")
    with pytest.raises(BackendError, match=r"graph\.uri"):
        Neo4jGraph(settings, workspace_key)


# Queries -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planned_database(neo4j_server: Neo4jEndpoint) -> Iterator[str]:
    """The test database holding many small workspaces for the module's life, so the planner costs its plans
    against statistics like a team server's: an empty label is cheaper to scan than to seek, and so is the
    index of a property that one workspace alone fills."""
    settings = neo4j_server.settings()
    graphs = [Neo4jGraph(settings, f"query-plans-{index}") for index in range(PLANNED_WORKSPACES)]
    try:
        for graph in graphs:
            graph.write_files(list(notes().values()))
        # Statistics sampled while earlier tests filled the database would otherwise outlive their data.
        graphs[0].driver.execute_query("CALL db.prepareForReplanning(60)", database_=settings.database)
        yield settings.database
        for graph in graphs:
            graph.delete_files(list(graph.file_inventory()))
    finally:
        for graph in graphs:
            graph.close()


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_starts_from_an_index(name: str, admin: Driver, planned_database: str) -> None:
    parameters = {"workspace": "w", "values": ["v"], "limit": 5, "file_id": "f", "file_ids": ["f"], "rows": []}
    parameters |= {"shared": [], "mention_prefix": "w "}
    # Planned afresh, with the statistics of now, not from a plan cached while the database was empty.
    query = "CYPHER replan=force EXPLAIN " + QUERIES[name]
    _, summary, _ = admin.execute_query(query, parameters, database_=planned_database)
    operators = plan_operators(summary.plan)
    assert not [op for op in operators if "Scan" in op], operators
    assert [op for op in operators if "Seek" in op], operators


def plan_operators(plan: dict[str, object]) -> list[str]:
    children = plan.get("children") or []
    assert isinstance(children, list)
    return [str(plan["operatorType"]), *(op for child in children for op in plan_operators(child))]


# Outage --------------------------------------------------------------------------------------------------------


def count_connection_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """From now on, every (host, port) a socket of this process tries to connect to, in order."""
    attempts: list[tuple[str, int]] = []
    connect = socket.socket.connect

    def recording_connect(sock: socket.socket, address: Any) -> None:
        attempts.append((str(address[0]), int(address[1])))
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return attempts


def test_calls_to_a_server_that_went_away_fail_after_one_connection_attempt(
    neo4j_server: Neo4jEndpoint, neo4j_settings: GraphSettings, workspace_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No retries by the driver: a write, a deletion and a read each try to connect once and fail with an error
    that names the setting and says that trying again later may help (the resilience layer's cue)."""
    if neo4j_server.server is None:
        pytest.skip("an external server (LOCALMIND_TEST_NEO4J_URI) is not the tests' to stop")
    n = notes()
    graph = Neo4jGraph(neo4j_settings, workspace_key)
    try:
        graph.write_files([n["alpha"]])
        neo4j_server.server.kill()
        attempts = count_connection_attempts(monkeypatch)
        calls = {
            "write_files": lambda: graph.write_files([n["beta"], n["gamma"]]),
            "delete_files": lambda: graph.delete_files([n["alpha"].file.id]),
            "file_inventory": graph.file_inventory,
        }
        for name, call in calls.items():
            attempts.clear()
            with pytest.raises(BackendError, match=r"cannot reach Neo4j .*graph\.uri") as failed:
                call()
            assert failed.value.transient and is_transient(failed.value), name
            assert attempts == [("127.0.0.1", neo4j_server.server.port)], name
        neo4j_server.server.start()
        graph.write_files([n["beta"], n["gamma"]])  # The driver connects again by itself.
        assert set(graph.file_inventory()) == {update.file.id for update in n.values()}
    finally:
        neo4j_server.server.start()
        graph.close()


def test_after_a_crash_the_server_starts_again_with_its_data(
    neo4j_server: Neo4jEndpoint, neo4j_settings: GraphSettings, workspace_key: str
) -> None:
    if neo4j_server.server is None:
        pytest.skip("an external server (LOCALMIND_TEST_NEO4J_URI) is not the tests' to stop")
    graph = Neo4jGraph(changed(neo4j_settings, {"acquisition_timeout": 2.0}), workspace_key)
    try:
        for update in notes().values():
            graph.write_file(update)
        before = graph.file_inventory()
        neo4j_server.server.kill()
        with pytest.raises(BackendError, match=r"graph\.uri"):
            graph.file_inventory()
        neo4j_server.server.start()
        assert graph.file_inventory() == before
    finally:
        graph.close()
