"""Graph neighbourhoods read from the embedded SQLite store; `neo4j_graph.py` answers the same queries.

Each method takes ids or names as bound parameters (a JSON array through json_each), so nothing that a
user or a file supplies becomes SQL. Each returns (from, to) pairs: the seed and the chunk reached.

The graph's rows live in the embedded store beside everything else a file contributes, so writes go through
that store: one SQLite transaction per file, as for the rest of the index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from localmind.stores.records import FileUpdate
from localmind.stores.sqlite_store import SqliteStore

Pairs = list[tuple[str, str]]
_FAN_OUT = 50


class SqliteGraph:
    """The GraphStore of the embedded store. It borrows the SqliteStore it is given and never closes it."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def write_file(self, update: FileUpdate) -> None:
        """Replace everything the file contributed (graph rows with the rest, in the store's one transaction)."""
        self._store.write_file(update)

    def delete_file(self, file_id: str) -> None:
        self._store.delete_file(file_id)

    def close(self) -> None:
        """Nothing to release: the store belongs to whoever opened it."""

    def file_inventory(self) -> dict[str, set[str]]:
        """Every file the store holds → the ids of its chunks."""
        inventory: dict[str, set[str]] = {}
        rows = self._store.query("SELECT f.id, c.id FROM files f LEFT JOIN chunks c ON c.file_id = f.id")
        for file_id, chunk_id in rows:
            chunks = inventory.setdefault(str(file_id), set())
            if chunk_id is not None:
                chunks.add(str(chunk_id))
        return inventory

    def _pairs(self, sql: str, values: Iterable[str]) -> Pairs:
        rows = self._store.query(sql, (json.dumps(list(values)),))
        return [(str(a), str(b)) for a, b in rows]

    def definitions_mentioned_by(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → MENTIONS → symbol → the chunk that DEFINES it."""
        return self._pairs(
            "SELECT m.chunk_id, s.chunk_id FROM mentions m JOIN symbols s ON s.name = m.name "
            "WHERE m.chunk_id IN (SELECT value FROM json_each(?)) AND s.chunk_id IS NOT NULL "
            f"AND s.chunk_id != m.chunk_id LIMIT {_FAN_OUT * 20}",
            chunks,
        )

    def mentions_of_definitions_in(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → DEFINES → symbol → chunks that MENTION it."""
        return self._pairs(
            "SELECT s.chunk_id, m.chunk_id FROM symbols s JOIN mentions m ON m.name = s.name "
            "WHERE s.chunk_id IN (SELECT value FROM json_each(?)) AND m.chunk_id != s.chunk_id "
            f"LIMIT {_FAN_OUT * 20}",
            chunks,
        )

    def linked_chunks(self, chunks: Iterable[str]) -> Pairs:
        """Seed chunk → its file → LINKS_TO → the first chunk of each linked file."""
        return self._pairs(
            "SELECT l.chunk_id, c.id FROM links l JOIN files f ON f.stem = l.target "
            "JOIN chunks c ON c.file_id = f.id AND c.ordinal = 0 "
            "WHERE l.kind = 'wiki' AND l.chunk_id IN (SELECT value FROM json_each(?1)) "
            "UNION SELECT l.chunk_id, c.id FROM links l JOIN files src ON src.id = l.file_id "
            "JOIN files f ON f.root = src.root AND f.rel_path = l.target "
            "JOIN chunks c ON c.file_id = f.id AND c.ordinal = 0 "
            "WHERE l.kind IN ('markdown', 'import') AND l.chunk_id IN (SELECT value FROM json_each(?1))",
            chunks,
        )

    def definitions_named(self, names: Iterable[str]) -> Pairs:
        """A name from the query → the chunks defining a symbol of that name (exact or qualified)."""
        return self._pairs(
            "SELECT name, chunk_id FROM symbols WHERE name IN (SELECT value FROM json_each(?1)) "
            "AND chunk_id IS NOT NULL UNION SELECT qualified_name, chunk_id FROM symbols "
            "WHERE qualified_name IN (SELECT value FROM json_each(?1)) AND chunk_id IS NOT NULL",
            names,
        )

    def mentions_named(self, names: Iterable[str]) -> Pairs:
        """A name from the query → chunks that mention a defined symbol of that name."""
        return self._pairs(
            "SELECT DISTINCT m.name, m.chunk_id FROM mentions m WHERE m.name IN (SELECT value FROM json_each(?)) "
            f"AND EXISTS (SELECT 1 FROM symbols s WHERE s.name = m.name) LIMIT {_FAN_OUT}",
            names,
        )

    def tagged_chunks(self, tags: Iterable[str]) -> Pairs:
        """A tag from the query → the first chunk of each file carrying it."""
        return self._pairs(
            "SELECT DISTINCT t.tag, c.id FROM tags t JOIN chunks c ON c.file_id = t.file_id AND c.ordinal = 0 "
            f"WHERE lower(t.tag) IN (SELECT lower(value) FROM json_each(?)) LIMIT {_FAN_OUT}",
            tags,
        )

    def linked_files_first_chunks(self, file_id: str) -> list[str]:
        """The first chunk of every file this file links to or is linked from (LINKS_TO both ways)."""
        rows = self._store.query(
            "SELECT c.id FROM edges e JOIN chunks c ON c.file_id = e.dst AND c.ordinal = 0 "
            "WHERE e.kind = 'LINKS_TO' AND e.src = ?1 "
            "UNION SELECT c.id FROM edges e JOIN chunks c ON c.file_id = e.src AND c.ordinal = 0 "
            "WHERE e.kind = 'LINKS_TO' AND e.dst = ?1",
            (file_id,),
        )
        return [str(row[0]) for row in rows][:_FAN_OUT]
