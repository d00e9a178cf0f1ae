"""Versioned schema migrations for the Neo4j graph: constraints and indexes, applied in order.

The database records the schema it holds in one node, `(:LocalMindSchema {key: 'schema', version: N})`, the
only Local Mind node without a workspace (the schema belongs to the whole database). Every statement is
idempotent (`IF NOT EXISTS`), so a migration cut short by a crash is simply applied again.

Policy: Local Mind migrates a database by itself only when it has never held a Local Mind schema (no schema
record). A database at an older version is refused until someone runs `localmind migrate`, because a team's
shared server may be used by several versions of Local Mind at once and should move on only when its owner
decides; a database at a newer version is refused until this Local Mind is upgraded.

Data. A migration may also rewrite the data the old schema held (`data`), after its schema statements and
the wait for indexes. Each data statement walks the database in small transactions of its own
(`CALL { ... } IN TRANSACTIONS`), so a large database is never one huge transaction, and each is written so
that running it again after a crash finds only what is still left to do.

Budgets. A schema statement may build an index over every node of a label, so it does not run on a write's
terms. Each one is a transaction of its own whose timeout travels with it (`SCHEMA_STATEMENT_TIMEOUT_S`, and
`INDEX_WAIT_SECONDS` more for the wait for indexes), so a short default that the server sets for ordinary
transactions does not cut it off; and the driver retries a statement that failed transiently for up to
`SCHEMA_RETRY_S`, where it retries no write at all.

To change the schema, append a Migration with the next version number; never edit one that has shipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from neo4j import Driver, ManagedTransaction, Query, RoutingControl, unit_of_work

from localmind.config import GraphSettings
from localmind.stores.neo4j_driver import DRIVERS, translated_errors
from localmind.stores.ports import StoreError

log = logging.getLogger(__name__)

SCHEMA_KEY: Final = "schema"
INDEX_WAIT_SECONDS: Final = 300
SCHEMA_STATEMENT_TIMEOUT_S: Final = 60.0  # The transaction timeout of each schema statement.
SCHEMA_RETRY_S: Final = 30.0  # How long the driver may retry a schema statement that failed transiently.
DATA_STATEMENT_TIMEOUT_S: Final = 3600.0  # A data statement rewrites a whole database; `localmind migrate` waits.
MENTIONS_INDEX: Final = "localmind_chunk_mentions"  # The keyword full-text index over Chunk.mention_keys.


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    data: tuple[str, ...] = ()


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "a unique key per workspace for every node label, and one schema record",
        (
            "CREATE CONSTRAINT localmind_schema_key IF NOT EXISTS FOR (n:LocalMindSchema) REQUIRE n.key IS UNIQUE",
            "CREATE CONSTRAINT localmind_file_key IF NOT EXISTS FOR (n:File) REQUIRE (n.workspace, n.id) IS UNIQUE",
            "CREATE CONSTRAINT localmind_chunk_key IF NOT EXISTS FOR (n:Chunk) REQUIRE (n.workspace, n.id) IS UNIQUE",
            "CREATE CONSTRAINT localmind_symbol_key IF NOT EXISTS FOR (n:Symbol) REQUIRE (n.workspace, n.id) IS UNIQUE",
            "CREATE CONSTRAINT localmind_section_key IF NOT EXISTS FOR (n:Section) "
            "REQUIRE (n.workspace, n.id) IS UNIQUE",
            "CREATE CONSTRAINT localmind_name_key IF NOT EXISTS FOR (n:Name) REQUIRE (n.workspace, n.name) IS UNIQUE",
            "CREATE CONSTRAINT localmind_tag_key IF NOT EXISTS FOR (n:Tag) REQUIRE (n.workspace, n.name) IS UNIQUE",
            "CREATE CONSTRAINT localmind_target_key IF NOT EXISTS FOR (n:Target) "
            "REQUIRE (n.workspace, n.key) IS UNIQUE",
        ),
    ),
    Migration(
        2,
        "lookup indexes: files by workspace, a file's own nodes, symbols by qualified name, tags by folded name",
        (
            "CREATE INDEX localmind_file_workspace IF NOT EXISTS FOR (n:File) ON (n.workspace)",
            "CREATE INDEX localmind_chunk_file IF NOT EXISTS FOR (n:Chunk) ON (n.workspace, n.file_id)",
            "CREATE INDEX localmind_symbol_file IF NOT EXISTS FOR (n:Symbol) ON (n.workspace, n.file_id)",
            "CREATE INDEX localmind_section_file IF NOT EXISTS FOR (n:Section) ON (n.workspace, n.file_id)",
            "CREATE INDEX localmind_symbol_qualified IF NOT EXISTS FOR (n:Symbol) ON (n.workspace, n.qualified_name)",
            "CREATE INDEX localmind_tag_folded IF NOT EXISTS FOR (n:Tag) ON (n.workspace, n.key)",
        ),
    ),
    Migration(
        3,
        "mentions as a list on each chunk behind a keyword full-text index, in place of Name nodes and edges",
        (
            "CREATE INDEX localmind_symbol_name IF NOT EXISTS FOR (n:Symbol) ON (n.workspace, n.name)",
            f"CREATE FULLTEXT INDEX {MENTIONS_INDEX} IF NOT EXISTS FOR (n:Chunk) ON EACH [n.mention_keys] "
            "OPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword'}}",
            "DROP CONSTRAINT localmind_name_key IF EXISTS",
        ),
        (
            # Each chunk's MENTIONS edges become its list, in one small transaction per thousand chunks.
            "MATCH (c:Chunk) WHERE EXISTS { (c)-[:MENTIONS]->(:Name) } "
            "CALL (c) { "
            "MATCH (c)-[m:MENTIONS]->(n:Name) "
            "WITH c, collect(c.workspace + ' ' + n.name) AS keys, collect(m) AS edges "
            "SET c.mention_keys = coalesce(c.mention_keys, []) + keys "
            "FOREACH (edge IN edges | DELETE edge) "
            "} IN TRANSACTIONS OF 1000 ROWS",
            "MATCH (n:Name) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS",
        ),
    ),
)
CURRENT_VERSION: Final = MIGRATIONS[-1].version

_READ_VERSION: Final = "MATCH (s:LocalMindSchema {key: $key}) RETURN s.version AS version"
_RECORD_VERSION: Final = (
    "MERGE (s:LocalMindSchema {key: $key}) "
    "SET s.version = CASE WHEN s.version IS NULL OR s.version < $version THEN $version ELSE s.version END, "
    "s.updated_at = datetime()"
)
_AWAIT_INDEXES: Final = "CALL db.awaitIndexes($seconds)"


def schema_version(driver: Driver, database: str) -> int | None:
    """The version the database records, or None when it has never held a Local Mind schema."""
    records, _, _ = driver.execute_query(
        _READ_VERSION, {"key": SCHEMA_KEY}, database_=database, routing_=RoutingControl.READ
    )
    if not records or records[0]["version"] is None:
        return None
    return int(records[0]["version"])


def check_schema(driver: Driver, database: str, current: int = CURRENT_VERSION) -> int:
    """The database's schema version when this code can use it as it is; a StoreError saying what to do if not."""
    found = schema_version(driver, database)
    if found is None or found < current:
        raise StoreError(
            f"the Neo4j database {database!r} holds Local Mind graph schema {found or 0}, and this Local Mind "
            f"needs schema {current}; run `localmind migrate` to bring it up to date"
        )
    _refuse_newer(found, database, current)
    return found


def migrate(driver: Driver, database: str, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every migration newer than the database's version, in order; answer the versions applied."""
    current = migrations[-1].version
    found = schema_version(driver, database) or 0
    _refuse_newer(found, database, current)
    applied = []
    for migration in migrations:
        if migration.version > found:
            _apply(driver, database, migration)
            applied.append(migration.version)
    return applied


def migrate_database(settings: GraphSettings) -> list[int]:
    """What `localmind migrate` runs: bring the configured database's graph schema up to date."""
    key, driver = DRIVERS.acquire(settings)
    try:
        with translated_errors(settings):
            return migrate(driver, settings.database)
    finally:
        DRIVERS.release(key)


def _apply(driver: Driver, database: str, migration: Migration) -> None:
    log.info("Neo4j database %r: applying graph schema %d (%s)", database, migration.version, migration.description)
    # Schema commands cannot share a transaction with writes, so each one commits on its own.
    for statement in migration.statements:
        _run_statement(driver, database, statement, {}, SCHEMA_STATEMENT_TIMEOUT_S)
    waiting = {"seconds": INDEX_WAIT_SECONDS}
    _run_statement(driver, database, _AWAIT_INDEXES, waiting, INDEX_WAIT_SECONDS + SCHEMA_STATEMENT_TIMEOUT_S)
    for statement in migration.data:
        _run_in_transactions(driver, database, statement)
    recording = {"key": SCHEMA_KEY, "version": migration.version}
    _run_statement(driver, database, _RECORD_VERSION, recording, SCHEMA_STATEMENT_TIMEOUT_S)


def _run_statement(driver: Driver, database: str, statement: str, parameters: dict[str, Any], timeout: float) -> None:
    """One statement of a migration, in a transaction of its own with the migration's timeout and retries."""

    @unit_of_work(timeout=timeout)
    def work(tx: ManagedTransaction) -> None:
        tx.run(statement, parameters).consume()

    with driver.session(database=database, max_transaction_retry_time=SCHEMA_RETRY_S) as session:
        session.execute_write(work)


def _run_in_transactions(driver: Driver, database: str, statement: str) -> None:
    """A data statement: `CALL { ... } IN TRANSACTIONS` commits as it goes, so it runs outside a transaction."""
    with driver.session(database=database) as session:
        # The driver types a query's text as a literal string; this one is always a constant of this module.
        session.run(Query(statement, timeout=DATA_STATEMENT_TIMEOUT_S)).consume()  # type: ignore[arg-type]


def _refuse_newer(found: int, database: str, current: int) -> None:
    if found > current:
        raise StoreError(
            f"the Neo4j database {database!r} holds Local Mind graph schema {found}, written by a newer Local Mind; "
            f"this one understands schema {current} at most: upgrade localmind"
        )
