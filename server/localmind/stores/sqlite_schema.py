"""The embedded store's schema. Bump SCHEMA_VERSION with every change and say how older stores move on."""

from __future__ import annotations

SCHEMA_VERSION = 4

# Stores of an older version are moved on by these statements, in order, when there is one for each
# version in between; otherwise they are rebuilt from the files.
UPGRADES: dict[int, str] = {
    # 1 → 2: the outbox, for graph and vector backends that live in a server.
    2: """CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, backend TEXT NOT NULL, file_id TEXT NOT NULL, op TEXT NOT NULL,
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, UNIQUE (backend, file_id))""",
    # 2 → 3: chunks written before their vectors (two-phase indexing) wait here for the embedder.
    3: """CREATE TABLE IF NOT EXISTS pending_vectors (
    chunk_id TEXT PRIMARY KEY, file_id TEXT NOT NULL, text_hash TEXT NOT NULL, embed_text TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL
)""",
    # 3 → 4: the rows of removed vectors, so readers drop them from their matrix without comparing every row.
    4: "CREATE TABLE IF NOT EXISTS vector_removals (seq INTEGER PRIMARY KEY, row INTEGER NOT NULL)",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, root TEXT NOT NULL, rel_path TEXT NOT NULL, stem TEXT NOT NULL,
    kind TEXT NOT NULL, language TEXT NOT NULL, title TEXT, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL, chunk_count INTEGER NOT NULL,
    model_id TEXT NOT NULL, UNIQUE (root, rel_path)
);
CREATE INDEX IF NOT EXISTS files_stem ON files (stem);
CREATE TABLE IF NOT EXISTS chunks (
    rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, file_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    text TEXT NOT NULL, text_hash TEXT NOT NULL,
    start_line INTEGER NOT NULL, start_char INTEGER NOT NULL, end_line INTEGER NOT NULL, end_char INTEGER NOT NULL,
    heading_path TEXT NOT NULL, symbol TEXT, page INTEGER, token_count INTEGER NOT NULL, section_id TEXT
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks (file_id, ordinal);
CREATE INDEX IF NOT EXISTS chunks_section ON chunks (section_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (text, tokenize = 'unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_vocab USING fts5vocab (chunks_fts, 'row');
CREATE TABLE IF NOT EXISTS vectors (
    chunk_id TEXT PRIMARY KEY, file_id TEXT NOT NULL, model_id TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_file ON vectors (file_id);
-- Chunks whose vectors are still to be computed, with the text the model reads: phase 2 of a run embeds
-- them (open and recent files first), and a killed run's next one takes up what is left.
CREATE TABLE IF NOT EXISTS pending_vectors (
    chunk_id TEXT PRIMARY KEY, file_id TEXT NOT NULL, text_hash TEXT NOT NULL, embed_text TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL
);
-- The row numbers of removed vectors, in order: a reader that holds the vectors in memory drops the rows
-- logged since its last look (the newest entries only are kept; a reader further behind reloads).
CREATE TABLE IF NOT EXISTS vector_removals (seq INTEGER PRIMARY KEY, row INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS embedding_cache (
    model_id TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model_id, text_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS symbols (
    id TEXT PRIMARY KEY, file_id TEXT NOT NULL, chunk_id TEXT, name TEXT NOT NULL, qualified_name TEXT NOT NULL,
    kind TEXT NOT NULL, start_line INTEGER NOT NULL, start_char INTEGER NOT NULL, end_line INTEGER NOT NULL,
    end_char INTEGER NOT NULL, name_line INTEGER NOT NULL, name_char INTEGER NOT NULL, doc TEXT
);
CREATE INDEX IF NOT EXISTS symbols_file ON symbols (file_id);
CREATE INDEX IF NOT EXISTS symbols_name ON symbols (name);
CREATE INDEX IF NOT EXISTS symbols_chunk ON symbols (chunk_id);
CREATE INDEX IF NOT EXISTS symbols_qualified ON symbols (qualified_name);
CREATE TABLE IF NOT EXISTS sections (
    id TEXT PRIMARY KEY, file_id TEXT NOT NULL, title TEXT NOT NULL, level INTEGER NOT NULL,
    start_line INTEGER NOT NULL, start_char INTEGER NOT NULL, end_line INTEGER NOT NULL, end_char INTEGER NOT NULL,
    parent_id TEXT
);
CREATE INDEX IF NOT EXISTS sections_file ON sections (file_id);
CREATE TABLE IF NOT EXISTS tags (file_id TEXT NOT NULL, chunk_id TEXT, tag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tags_file ON tags (file_id);
CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag);
CREATE TABLE IF NOT EXISTS links (file_id TEXT NOT NULL, chunk_id TEXT, kind TEXT NOT NULL, target TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS links_file ON links (file_id);
CREATE INDEX IF NOT EXISTS links_target ON links (target);
CREATE INDEX IF NOT EXISTS links_chunk ON links (chunk_id);
CREATE TABLE IF NOT EXISTS mentions (chunk_id TEXT NOT NULL, file_id TEXT NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mentions_file ON mentions (file_id);
CREATE INDEX IF NOT EXISTS mentions_name ON mentions (name);
CREATE INDEX IF NOT EXISTS mentions_chunk ON mentions (chunk_id);
CREATE TABLE IF NOT EXISTS skipped (root TEXT NOT NULL, rel_path TEXT NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (root, rel_path));
-- The outbox: files whose latest change a server backend (Neo4j, Milvus) has not applied yet. A row is
-- written in the same transaction as the change itself and removed once the backend applied it; one
-- row per (backend, file) keeps only the latest operation, so replay never applies stale content.
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, backend TEXT NOT NULL, file_id TEXT NOT NULL, op TEXT NOT NULL,
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, UNIQUE (backend, file_id)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    files_indexed INTEGER NOT NULL DEFAULT 0, files_deleted INTEGER NOT NULL DEFAULT 0,
    chunks_embedded INTEGER NOT NULL DEFAULT 0
);
-- The graph's edges. MENTIONS and LINKS_TO are resolved by joins, so a file indexed before the file
-- that defines a symbol (or that a link points to) still gets its edge, and deletes leave no orphans.
CREATE VIEW IF NOT EXISTS edges (kind, src, dst) AS
    SELECT 'CONTAINS', file_id, id FROM chunks
    UNION ALL SELECT 'DEFINES', chunk_id, id FROM symbols WHERE chunk_id IS NOT NULL
    UNION ALL SELECT 'NEXT', a.id, b.id FROM chunks a
        JOIN chunks b ON b.file_id = a.file_id AND b.ordinal = a.ordinal + 1
    UNION ALL SELECT 'IN_SECTION', id, section_id FROM chunks WHERE section_id IS NOT NULL
    UNION ALL SELECT 'TAGGED', COALESCE(chunk_id, file_id), 'tag:' || tag FROM tags
    UNION ALL SELECT 'MENTIONS', m.chunk_id, s.id FROM mentions m JOIN symbols s ON s.name = m.name
        WHERE s.chunk_id IS NOT m.chunk_id
    UNION ALL SELECT 'LINKS_TO', l.file_id, f.id FROM links l JOIN files src ON src.id = l.file_id
        JOIN files f ON f.root = src.root AND f.rel_path = l.target WHERE l.kind IN ('markdown', 'import')
    UNION ALL SELECT 'LINKS_TO', l.file_id, f.id FROM links l JOIN files f ON f.stem = l.target WHERE l.kind = 'wiki'
    UNION ALL SELECT 'LINKS_TO', l.file_id, 'url:' || l.target FROM links l WHERE l.kind = 'url';
"""

# Tables whose rows belong to one file and go with it.
FILE_OWNED_TABLES = ("vectors", "pending_vectors", "symbols", "sections", "tags", "links", "mentions")
