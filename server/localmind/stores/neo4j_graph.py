"""The knowledge graph in a Neo4j server, answering every GraphStore query exactly as the SQLite graph does.

The model. Every node carries `workspace`, and every query is anchored on it, so workspaces sharing one
database never see each other. A file owns its File, Chunk, Symbol and Section nodes; Tag and Target nodes
are shared within a workspace and exist only while something points at them:

    (File)-[:CONTAINS]->(Chunk)-[:NEXT]->(Chunk)        (Chunk)-[:IN_SECTION]->(Section)
    (Chunk)-[:DEFINES]->(Symbol {name})                 (Chunk {mention_keys})
    (File)-[:TAGGED {chunk_ids}]->(Tag {name, key})
    (File|Chunk)-[:LINKS_TO]->(Target {key})<-[:ANSWERS_TO]-(File)

Cross-file edges are resolved when read, the way the SQLite `edges` view resolves them by joins. A mention
is not an edge: a chunk keeps the names it mentions in its `mention_keys` list, each as its workspace key, a
space and the name, and a keyword full-text index over that list finds the chunks mentioning a name; a
mention reaches every symbol of the same name (an index on the symbols' names). A link reaches every file
that answers to its target through the shared Target node (a wiki link to a note name, the file's stem; a
markdown link or an import to a path in the linking file's root). So a file indexed before the file it
mentions or links to still gets its edges, and deleting a file takes its edges with it.

Why mentions are a list and not edges: every identifier-like word of a chunk is a mention (70,668 of them in
1,364 chunks of 600 notes), and a Name node plus a MENTIONS edge per mention took Neo4j most of a first
index's time (5.9 of 8 s of statement time on a cold server); the list is written with its chunk, and the
full-text index costs a fraction of that. The workspace key in each entry keeps one workspace's mentions
out of another's answers, the way every node's `workspace` property does (the servers' workspace keys are hex
digests, so no key is another key followed by a space).

Every value travels as a query parameter; labels, relationship types and property names are constants here.

Batches. `write_files` writes any number of files in one transaction of a fixed number of statements: the
shared nodes the files' old content points at are gathered, the files' own nodes are deleted (`UNWIND
$file_ids`), each statement then writes its rows for every file at once (`UNWIND $rows AS row MERGE ...`, a
row naming its file where the statement needs it), and last the gathered shared nodes that nothing points at
any more are deleted. Since files meet only through shared nodes, which are merged by key, the graph is the
one that writing the files one at a time gives, whatever their order, and applying a batch twice changes
nothing; when a file appears twice in a batch its last update wins. A long list of rows is sent in
statements of `_ROWS_PER_STATEMENT` rows, still in the one transaction. `write_file` is a batch of one, and
`delete_files` the same transaction with nothing to write.

Orphans. A Chunk, Symbol or Section whose file has no File node in the workspace (left by a File removed
behind the adapter's back) is an orphan: `orphans` counts them, and `delete_orphans` removes them together
with every shared node of the workspace left unused, which is the graph that deleting their files would give.

One driver (with its connection pool) serves every Neo4jGraph of a process that uses the same server and
credentials; it closes when the last of them closes. The password is held by the driver only, never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final, TypeVar

from neo4j import Driver, RoutingControl, Transaction

from localmind.config import GraphSettings
from localmind.stores.neo4j_driver import DRIVERS, run_write, translated_errors, warn_if_weak
from localmind.stores.neo4j_migrations import MENTIONS_INDEX, check_schema, migrate, schema_version
from localmind.stores.records import FileUpdate

log = logging.getLogger(__name__)

Pairs = list[tuple[str, str]]
Row = dict[str, Any]
T = TypeVar("T")
_FAN_OUT: Final = 50  # The same limits as the SQLite graph, so both answer alike.
_PAIR_LIMIT: Final = _FAN_OUT * 20
_ROWS_PER_STATEMENT: Final = 5000  # A huge batch is still one transaction, sent in statements of this many rows.
# The longest value an index of the graph is given, in UTF-8 bytes. A range index refuses a value over about
# 8 kB, which fails the whole batch's transaction, again on every replay; Lucene refuses a term over 32,766
# bytes, and Neo4j 5.26 answers a full-text index update holding one with a database panic (every later call
# fails until a restart). A workspace is untrusted: one long word in a note, a blob of a tag or link, or a
# generated identifier must not stop its files or take the team's server down. So a mention, a symbol, a
# tag or a link target whose indexed value is longer is left out of the Neo4j graph (the SQLite graph keeps
# it; no person mentions a name this long), and so is a path target of a file whose path is longer.
MAX_INDEXED_BYTES: Final = 4000
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# Queries -----------------------------------------------------------------------------------------------------
# Each query names its parameters; $workspace always scopes the nodes it starts from, and a read's
# $mention_prefix is what `mention_key` puts before a name in this workspace.

_GATHER_SHARED: Final = """
UNWIND $file_ids AS file_id
CALL (file_id) {
  MATCH (:Chunk {workspace: $workspace, file_id: file_id})-[:LINKS_TO]->(shared)
  RETURN shared
  UNION
  MATCH (:File {workspace: $workspace, id: file_id})-[:TAGGED|LINKS_TO|ANSWERS_TO]->(shared)
  RETURN shared
}
RETURN collect(DISTINCT elementId(shared)) AS shared
"""

_DELETE_OWNED: Final = """
UNWIND $file_ids AS file_id
CALL (file_id) {
  MATCH (owned:Chunk {workspace: $workspace, file_id: file_id}) RETURN owned
  UNION
  MATCH (owned:Symbol {workspace: $workspace, file_id: file_id}) RETURN owned
  UNION
  MATCH (owned:Section {workspace: $workspace, file_id: file_id}) RETURN owned
  UNION
  MATCH (owned:File {workspace: $workspace, id: file_id}) RETURN owned
}
DETACH DELETE owned
"""

_DELETE_UNUSED_SHARED: Final = """
UNWIND $shared AS element
MATCH (shared) WHERE elementId(shared) = element AND shared.workspace = $workspace
  AND NOT EXISTS { (shared)--() }
DELETE shared
"""

_WRITE_FILES: Final = """
UNWIND $rows AS row
MERGE (f:File {workspace: $workspace, id: row.file.id})
SET f += row.file
WITH f, row
UNWIND row.answers AS answer
MERGE (t:Target {workspace: $workspace, key: answer.key})
ON CREATE SET t.kind = answer.kind, t.value = answer.value
MERGE (f)-[:ANSWERS_TO]->(t)
"""

_WRITE_CHUNKS: Final = """
UNWIND $rows AS row
MATCH (f:File {workspace: $workspace, id: row.file_id})
MERGE (c:Chunk {workspace: $workspace, id: row.id})
SET c += row
MERGE (f)-[:CONTAINS]->(c)
"""

_WRITE_NEXT: Final = """
UNWIND $rows AS row
MATCH (before:Chunk {workspace: $workspace, id: row.before})
MATCH (after:Chunk {workspace: $workspace, id: row.after})
MERGE (before)-[:NEXT]->(after)
"""

_WRITE_SECTIONS: Final = """
UNWIND $rows AS row
MERGE (s:Section {workspace: $workspace, id: row.id})
SET s += row
"""

_WRITE_IN_SECTION: Final = """
UNWIND $rows AS row
MATCH (c:Chunk {workspace: $workspace, id: row.chunk_id})
MATCH (s:Section {workspace: $workspace, id: row.section_id})
MERGE (c)-[:IN_SECTION]->(s)
"""

_WRITE_SYMBOLS: Final = """
UNWIND $rows AS row
MERGE (s:Symbol {workspace: $workspace, id: row.id})
SET s += row
WITH s, row WHERE row.chunk_id IS NOT NULL
MATCH (c:Chunk {workspace: $workspace, id: row.chunk_id})
MERGE (c)-[:DEFINES]->(s)
"""

_WRITE_TAGS: Final = """
UNWIND $rows AS row
MATCH (f:File {workspace: $workspace, id: row.file_id})
MERGE (t:Tag {workspace: $workspace, name: row.name})
SET t.key = row.key
MERGE (f)-[r:TAGGED]->(t)
SET r.chunk_ids = row.chunk_ids
"""

_WRITE_LINKS: Final = """
UNWIND $rows AS row
MATCH (f:File {workspace: $workspace, id: row.file_id})
MERGE (t:Target {workspace: $workspace, key: row.key})
ON CREATE SET t.kind = row.kind, t.value = row.value
MERGE (f)-[:LINKS_TO]->(t)
WITH t, row WHERE row.chunk_id IS NOT NULL
MATCH (c:Chunk {workspace: $workspace, id: row.chunk_id})
MERGE (c)-[:LINKS_TO]->(t)
"""

# The Chunk, Symbol and Section nodes of the workspace whose file has no File node, each with its label.
_ORPHANS: Final = """
CALL () {
  MATCH (node:Chunk {workspace: $workspace}) WHERE node.id IS NOT NULL RETURN node, 'Chunk' AS label
  UNION ALL
  MATCH (node:Symbol {workspace: $workspace}) WHERE node.id IS NOT NULL RETURN node, 'Symbol' AS label
  UNION ALL
  MATCH (node:Section {workspace: $workspace}) WHERE node.id IS NOT NULL RETURN node, 'Section' AS label
}
WITH node, label WHERE NOT EXISTS { MATCH (:File {workspace: $workspace, id: node.file_id}) }
"""

_COUNT_ORPHANS: Final = (
    _ORPHANS
    + """
RETURN label, count(node) AS orphans
"""
)

_DELETE_ORPHANS: Final = (
    _ORPHANS
    + """
DETACH DELETE node
RETURN count(node) AS deleted
"""
)

# Every shared node of the workspace that nothing points at: those the orphans used, and those that whatever
# removed their File left behind (its tags and the targets it answered to).
_DELETE_EVERY_UNUSED_SHARED: Final = """
CALL () {
  MATCH (shared:Tag {workspace: $workspace}) WHERE shared.name IS NOT NULL RETURN shared
  UNION ALL
  MATCH (shared:Target {workspace: $workspace}) WHERE shared.key IS NOT NULL RETURN shared
}
WITH shared WHERE NOT EXISTS { (shared)--() }
DELETE shared
"""

# The chunks whose `mention_keys` hold `key`: a phrase query for the one keyword, with the two characters a
# quoted Lucene phrase gives a meaning (backslash and double quote) escaped, so a name is never query syntax.
_CHUNKS_MENTIONING_KEY: Final = (
    f"CALL db.index.fulltext.queryNodes('{MENTIONS_INDEX}', "
    r"""'"' + replace(replace(key, '\\', '\\\\'), '"', '\\"') + '"') YIELD node AS reached"""
)

_DEFINITIONS_MENTIONED_BY: Final = """
MATCH (seed:Chunk {workspace: $workspace}) WHERE seed.id IN $values
UNWIND seed.mention_keys AS key
MATCH (:Symbol {workspace: $workspace, name: substring(key, size($mention_prefix))})<-[:DEFINES]-(reached:Chunk)
WHERE reached <> seed
RETURN seed.id AS source, reached.id AS reached LIMIT $limit
"""

_MENTIONS_OF_DEFINITIONS_IN: Final = f"""
MATCH (seed:Chunk {{workspace: $workspace}}) WHERE seed.id IN $values
MATCH (seed)-[:DEFINES]->(symbol:Symbol)
WITH seed, $mention_prefix + symbol.name AS key
{_CHUNKS_MENTIONING_KEY}
WITH seed, reached WHERE reached <> seed
RETURN seed.id AS source, reached.id AS reached LIMIT $limit
"""

_LINKED_CHUNKS: Final = """
MATCH (seed:Chunk {workspace: $workspace}) WHERE seed.id IN $values
MATCH (seed)-[:LINKS_TO]->(:Target)<-[:ANSWERS_TO]-(:File)-[:CONTAINS]->(reached:Chunk {ordinal: 0})
RETURN DISTINCT seed.id AS source, reached.id AS reached
"""

_DEFINITIONS_NAMED: Final = """
MATCH (s:Symbol {workspace: $workspace}) WHERE s.name IN $values
MATCH (s)<-[:DEFINES]-(reached:Chunk)
RETURN s.name AS source, reached.id AS reached
UNION
MATCH (s:Symbol {workspace: $workspace}) WHERE s.qualified_name IN $values
MATCH (s)<-[:DEFINES]-(reached:Chunk)
RETURN s.qualified_name AS source, reached.id AS reached
"""

_MENTIONS_NAMED: Final = f"""
UNWIND $values AS name
MATCH (symbol:Symbol {{workspace: $workspace, name: name}})
WITH DISTINCT name, $mention_prefix + name AS key
{_CHUNKS_MENTIONING_KEY}
RETURN DISTINCT name AS source, reached.id AS reached LIMIT $limit
"""

_TAGGED_CHUNKS: Final = """
MATCH (t:Tag {workspace: $workspace}) WHERE t.key IN $values
MATCH (t)<-[:TAGGED]-(:File)-[:CONTAINS]->(reached:Chunk {ordinal: 0})
RETURN DISTINCT t.name AS source, reached.id AS reached LIMIT $limit
"""

_LINKED_FILES_FIRST_CHUNKS: Final = """
MATCH (f:File {workspace: $workspace, id: $file_id})
CALL (f) {
  MATCH (f)-[:LINKS_TO]->(:Target)<-[:ANSWERS_TO]-(other:File) RETURN other
  UNION
  MATCH (f)-[:ANSWERS_TO]->(:Target)<-[:LINKS_TO]-(other:File) RETURN other
}
MATCH (other)-[:CONTAINS]->(reached:Chunk {ordinal: 0})
RETURN DISTINCT reached.id AS reached LIMIT $limit
"""

_FILE_INVENTORY: Final = """
MATCH (f:File {workspace: $workspace})
OPTIONAL MATCH (f)-[:CONTAINS]->(c:Chunk)
RETURN f.id AS file, collect(c.id) AS chunks
"""


# The graph ---------------------------------------------------------------------------------------------------


class Neo4jGraph:
    """The GraphStore of one workspace in a Neo4j database.

    Opening checks the database's schema: a database that has never held Local Mind gets the current schema
    at once; one at an older schema is refused until `localmind migrate` runs; a newer one is refused.
    """

    def __init__(self, settings: GraphSettings, workspace: str) -> None:
        if not workspace:
            raise ValueError("a Neo4jGraph needs a workspace key")
        self._settings = settings
        self._workspace = workspace
        self._database = settings.database
        warn_if_weak(settings)
        self._key, self._driver = DRIVERS.acquire(settings)
        self._closed = False
        try:
            self._prepare_schema()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        s = self._settings
        return f"Neo4jGraph(uri={s.uri!r}, user={s.user!r}, database={s.database!r}, workspace={self._workspace!r})"

    @property
    def driver(self) -> Driver:
        """The shared driver (for maintenance and tests); closing it is the pool's job."""
        return self._driver

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            DRIVERS.release(self._key)

    def _prepare_schema(self) -> None:
        with translated_errors(self._settings):
            # Fails at once when the server is down or refuses the credentials; queries would retry for a while.
            self._driver.verify_connectivity()
            if schema_version(self._driver, self._database) is None:
                applied = migrate(self._driver, self._database)
                log.info("Neo4j database %r was new to Local Mind; applied graph schema %s", self._database, applied)
            else:
                check_schema(self._driver, self._database)

    # Writes ----------------------------------------------------------------------------------------------------

    def write_file(self, update: FileUpdate) -> None:
        """Replace everything the file contributed, in one transaction."""
        self.write_files([update])

    def write_files(self, updates: Sequence[FileUpdate]) -> None:
        """Replace everything these files contributed, in one transaction whose number of statements does not
        grow with the number of files; when a file appears twice, its last update wins."""
        latest = list({update.file.id: update for update in updates}.values())
        if not latest:
            return
        file_ids = [update.file.id for update in latest]
        statements = _write_statements(latest, self._workspace)
        self._write(lambda tx: _replace_files(tx, self._workspace, file_ids, statements))

    def delete_file(self, file_id: str) -> None:
        """Remove the file's nodes and edges, and the shared nodes nothing else uses any more."""
        self.delete_files([file_id])

    def delete_files(self, file_ids: Sequence[str]) -> None:
        """`delete_file` for many files, in one transaction."""
        distinct = _distinct(file_ids)
        if distinct:
            self._write(lambda tx: _replace_files(tx, self._workspace, distinct, []))

    def delete_orphans(self) -> int:
        """Delete the orphans (see `orphans`), then every Tag and Target of the workspace that nothing
        points at any more; answer how many orphans were deleted."""
        return self._write(lambda tx: _delete_orphans(tx, self._workspace))

    def _write(self, work: Callable[[Transaction], T]) -> T:
        with translated_errors(self._settings):
            return run_write(self._driver, self._database, work)

    # Reads -----------------------------------------------------------------------------------------------------

    def definitions_mentioned_by(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → MENTIONS → symbol → the chunk that DEFINES it."""
        return self._pairs(_DEFINITIONS_MENTIONED_BY, _distinct(chunks), _PAIR_LIMIT)

    def mentions_of_definitions_in(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → DEFINES → symbol → chunks that MENTION it."""
        return self._pairs(_MENTIONS_OF_DEFINITIONS_IN, _distinct(chunks), _PAIR_LIMIT)

    def linked_chunks(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → its LINKS_TO (wiki, markdown, import) → the first chunk of each linked file."""
        return self._pairs(_LINKED_CHUNKS, _distinct(chunks), None)

    def definitions_named(self, names: Iterable[str]) -> Pairs:
        """A name (exact or qualified) → the chunks defining a symbol of that name."""
        return self._pairs(_DEFINITIONS_NAMED, _distinct(names), None)

    def mentions_named(self, names: Iterable[str]) -> Pairs:
        """A name → chunks that mention a defined symbol of that name."""
        return self._pairs(_MENTIONS_NAMED, _distinct(names), _FAN_OUT)

    def tagged_chunks(self, tags: Iterable[str]) -> Pairs:
        """A tag (case-insensitive, as SQLite's lower() folds: ASCII only) → the first chunk of each file."""
        return self._pairs(_TAGGED_CHUNKS, _distinct(fold_tag(tag) for tag in tags), _FAN_OUT)

    def linked_files_first_chunks(self, file_id: str) -> list[str]:
        """The first chunk of every file this file links to or is linked from."""
        records = self._read(_LINKED_FILES_FIRST_CHUNKS, {"file_id": file_id, "limit": _FAN_OUT})
        return [str(record["reached"]) for record in records]

    def file_inventory(self) -> dict[str, set[str]]:
        """Every file of this workspace → the ids of its chunks."""
        records = self._read(_FILE_INVENTORY, {})
        return {str(record["file"]): {str(chunk) for chunk in record["chunks"]} for record in records}

    def orphans(self) -> dict[str, int]:
        """How many Chunk, Symbol and Section nodes of this workspace belong to a file that has no File node,
        by label; a label without orphans is left out, so a sound workspace answers {}."""
        records = self._read(_COUNT_ORPHANS, {})
        return {str(record["label"]): int(record["orphans"]) for record in records}

    def _pairs(self, query: str, values: list[str], limit: int | None) -> Pairs:
        if not values:
            return []
        records = self._read(query, {"values": values, "limit": limit})
        return [(str(record["source"]), str(record["reached"])) for record in records]

    def _read(self, query: str, parameters: Row) -> list[Any]:
        with translated_errors(self._settings):
            records, _, _ = self._driver.execute_query(
                query,
                {**parameters, "workspace": self._workspace, "mention_prefix": mention_key(self._workspace, "")},
                database_=self._database,
                routing_=RoutingControl.READ,
            )
        return list(records)


# What a batch writes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    query: str
    parameters: Row

    def run(self, tx: Transaction, workspace: str) -> None:
        tx.run(self.query, {**self.parameters, "workspace": workspace}).consume()


def _replace_files(tx: Transaction, workspace: str, file_ids: list[str], statements: list[_Statement]) -> None:
    """Delete the files' nodes, write the statements, then delete the shared nodes their old content used and
    nothing uses now (deleting them last keeps those the new content points at again)."""
    shared = _gather_shared(tx, workspace, file_ids)
    for ids in _slices(file_ids):
        tx.run(_DELETE_OWNED, {"workspace": workspace, "file_ids": ids}).consume()
    for statement in statements:
        statement.run(tx, workspace)
    _delete_unused_shared(tx, workspace, shared)


def _gather_shared(tx: Transaction, workspace: str, file_ids: list[str]) -> list[str]:
    """The element ids of the shared nodes that these files' nodes point at."""
    shared: list[str] = []
    for ids in _slices(file_ids):
        shared += tx.run(_GATHER_SHARED, {"workspace": workspace, "file_ids": ids}).single(strict=True)["shared"]
    return _distinct(shared)


def _delete_unused_shared(tx: Transaction, workspace: str, shared: list[str]) -> None:
    for elements in _slices(shared):
        tx.run(_DELETE_UNUSED_SHARED, {"workspace": workspace, "shared": elements}).consume()


def _delete_orphans(tx: Transaction, workspace: str) -> int:
    deleted = tx.run(_DELETE_ORPHANS, {"workspace": workspace}).single(strict=True)["deleted"]
    tx.run(_DELETE_EVERY_UNUSED_SHARED, {"workspace": workspace}).consume()
    return int(deleted)


def _write_statements(updates: list[FileUpdate], workspace: str) -> list[_Statement]:
    """The statements that write these files once their old nodes are gone: one per kind of row, holding the
    rows of every file, in this order (a statement matches what the ones before it wrote); no rows, no statement."""
    rows_by_query: list[tuple[str, Callable[[FileUpdate], list[Row]]]] = [
        (_WRITE_FILES, _file_rows),
        (_WRITE_CHUNKS, lambda update: _chunk_rows(update, workspace)),
        (_WRITE_NEXT, _next_rows),
        (_WRITE_SECTIONS, _section_rows),
        (_WRITE_IN_SECTION, _in_section_rows),
        (_WRITE_SYMBOLS, _symbol_rows),
        (_WRITE_TAGS, _tag_rows),
        (_WRITE_LINKS, _link_rows),
    ]
    statements = []
    for query, rows_of in rows_by_query:
        rows = [row for update in updates for row in rows_of(update)]
        statements += [_Statement(query, {"rows": part}) for part in _slices(rows)]
    return statements


def _slices(values: list[T]) -> list[list[T]]:
    """The values in lists of at most `_ROWS_PER_STATEMENT` items, so that no statement grows without bound; a
    chunk row counts once, plus once for each name it mentions."""
    parts: list[list[T]] = [[]]
    size = 0
    for value in values:
        weight = 1 + len(value.get("mention_keys", ())) if isinstance(value, dict) else 1
        if parts[-1] and size + weight > _ROWS_PER_STATEMENT:
            parts.append([])
            size = 0
        parts[-1].append(value)
        size += weight
    return parts if parts[-1] else []


def _file_rows(update: FileUpdate) -> list[Row]:
    return [{"file": _file_properties(update), "answers": _answer_rows(update)}]


def _file_properties(update: FileUpdate) -> Row:
    f = update.file
    return {
        "id": f.id,
        "root": f.root,
        "rel_path": f.rel_path,
        "stem": file_stem(f.rel_path),
        "kind": f.kind,
        "language": f.language,
        "title": f.title,
        "size": f.size,
        "mtime_ns": f.mtime_ns,
        "content_hash": f.content_hash,
        "chunk_count": len(update.chunks),
        "model_id": update.model_id,
    }


def _answer_rows(update: FileUpdate) -> list[Row]:
    """The link targets this file answers to: its note name, and its path within its root."""
    f = update.file
    targets = [_target("note", file_stem(f.rel_path)), _target("path", f.rel_path, f.root)]
    return [target for target in targets if _indexable(target["key"])]


def _chunk_rows(update: FileUpdate, workspace: str) -> list[Row]:
    """The chunks' properties, each with the keys of the names it mentions (see the module's docstring), less
    any key too long to index."""
    mentioned: dict[str, list[str]] = {}
    for chunk, name in dict.fromkeys(update.mentions):
        key = mention_key(workspace, name)
        if _indexable(key):
            mentioned.setdefault(chunk, []).append(key)
    return [
        {
            "id": c.id,
            "file_id": c.file_id,
            "ordinal": c.ordinal,
            "text_hash": c.text_hash,
            "start_line": c.span[0],
            "start_char": c.span[1],
            "end_line": c.span[2],
            "end_char": c.span[3],
            "heading_path": list(c.heading_path),
            "symbol": c.symbol,
            "page": c.page,
            "token_count": c.token_count,
            "section_id": c.section_id,
            "mention_keys": mentioned.get(c.id, []),
        }
        for c in update.chunks
    ]


def _next_rows(update: FileUpdate) -> list[Row]:
    by_ordinal = {c.ordinal: c.id for c in update.chunks}
    return [
        {"before": chunk, "after": by_ordinal[ordinal + 1]}
        for ordinal, chunk in by_ordinal.items()
        if ordinal + 1 in by_ordinal
    ]


def _section_rows(update: FileUpdate) -> list[Row]:
    return [
        {
            "id": s.id,
            "file_id": s.file_id,
            "title": s.title,
            "level": s.level,
            "start_line": s.span[0],
            "start_char": s.span[1],
            "end_line": s.span[2],
            "end_char": s.span[3],
            "parent_id": s.parent_id,
        }
        for s in update.sections
    ]


def _in_section_rows(update: FileUpdate) -> list[Row]:
    return [{"chunk_id": c.id, "section_id": c.section_id} for c in update.chunks if c.section_id is not None]


def _symbol_rows(update: FileUpdate) -> list[Row]:
    return [
        {
            "id": s.id,
            "file_id": s.file_id,
            "chunk_id": s.chunk_id,
            "name": s.name,
            "qualified_name": s.qualified_name,
            "kind": s.kind,
            "start_line": s.span[0],
            "start_char": s.span[1],
            "end_line": s.span[2],
            "end_char": s.span[3],
            "name_line": s.name_line,
            "name_char": s.name_char,
            "doc": s.doc,
        }
        for s in update.symbols
        if _indexable(s.name, s.qualified_name)
    ]


def _tag_rows(update: FileUpdate) -> list[Row]:
    """One row per distinct tag, with the chunks it was found in (none when it tags the whole file)."""
    chunks_by_tag: dict[str, list[str]] = {}
    for chunk, tag in update.tags:
        found = chunks_by_tag.setdefault(tag, [])
        if chunk is not None and chunk not in found:
            found.append(chunk)
    file_id = update.file.id
    return [
        {"file_id": file_id, "name": tag, "key": fold_tag(tag), "chunk_ids": chunks}
        for tag, chunks in chunks_by_tag.items()
        if _indexable(tag)
    ]


def _link_rows(update: FileUpdate) -> list[Row]:
    f = update.file
    rows = [
        {**_link_target(link.kind, link.target, f.root), "chunk_id": link.chunk_id, "file_id": f.id}
        for link in update.links
    ]
    unique = {json.dumps(row, sort_keys=True): row for row in rows if _indexable(row["key"])}
    return list(unique.values())


def _link_target(kind: str, target: str, root: str) -> Row:
    """What a link points at, as the SQLite joins read it: a note name (wiki), a path in the linking file's
    root (markdown, import), a URL, or something no file answers to."""
    if kind == "wiki":
        return _target("note", target)
    if kind in ("markdown", "import"):
        return _target("path", target, root)
    if kind == "url":
        return _target("url", target)
    return _target(f"other:{kind}", target)


def _target(kind: str, value: str, root: str | None = None) -> Row:
    parts = [kind, value] if root is None else [kind, root, value]
    return {"key": json.dumps(parts, ensure_ascii=False), "kind": kind, "value": value}


def mention_key(workspace: str, name: str) -> str:
    """How a chunk's `mention_keys` list holds a name it mentions: the workspace key, a space, the name."""
    return f"{workspace} {name}"


def file_stem(rel_path: str) -> str:
    """A file's note name, as the SQLite store computes it: its name up to the first dot, lower-cased."""
    return PurePosixPath(rel_path).name.split(".")[0].lower()


def fold_tag(tag: str) -> str:
    """A tag folded the way SQLite's lower() folds it (ASCII letters only), so both backends match alike."""
    return tag.translate(_ASCII_LOWER)


def _indexable(*values: str | None) -> bool:
    """Whether each value fits an index of the graph (see MAX_INDEXED_BYTES); None always does."""
    return all(value is None or len(value.encode("utf-8", "surrogatepass")) <= MAX_INDEXED_BYTES for value in values)


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
