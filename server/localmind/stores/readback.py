"""A file's whole contribution read back from the embedded store, as the FileUpdate that wrote it.

The outbox stores only which file changed; replaying an entry sends the file's current rows, so a
backend that missed several changes receives the latest content once, never a stale one.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from localmind.stores.records import ChunkRecord, FileRecord, FileUpdate, LinkRecord, SectionRecord, SymbolRecord

_TAGS = "SELECT chunk_id, tag FROM tags WHERE file_id = ? ORDER BY rowid"
_MENTIONS = "SELECT chunk_id, name FROM mentions WHERE file_id = ? ORDER BY rowid"


def load_file_update(db: sqlite3.Connection, file_id: str) -> FileUpdate | None:
    row = db.execute(
        "SELECT id, root, rel_path, kind, language, title, size, mtime_ns, content_hash, model_id FROM files "
        "WHERE id = ?",
        (file_id,),
    ).fetchone()
    if row is None:
        return None
    *fields, model_id = row
    record = FileRecord(*fields)
    chunks = _chunks(db, file_id)
    vectors, pending = _vectors(db, [chunk.id for chunk in chunks], model_id)
    return FileUpdate(
        record,
        chunks,
        vectors,
        str(model_id),
        pending=pending,
        symbols=_symbols(db, file_id),
        sections=_sections(db, file_id),
        tags=[
            (chunk, str(tag))
            for chunk, tag in db.execute("SELECT chunk_id, tag FROM tags WHERE file_id = ?", (file_id,))
        ],
        links=[
            LinkRecord(file_id, chunk, str(kind), str(target))
            for chunk, kind, target in db.execute(
                "SELECT chunk_id, kind, target FROM links WHERE file_id = ? ORDER BY rowid", (file_id,)
            )
        ],
        mentions=[
            (str(chunk), str(name))
            for chunk, name in db.execute(
                "SELECT chunk_id, name FROM mentions WHERE file_id = ? ORDER BY rowid", (file_id,)
            )
        ],
    )


def _chunks(db: sqlite3.Connection, file_id: str) -> list[ChunkRecord]:
    rows = db.execute(
        "SELECT c.id, c.file_id, c.ordinal, c.text, c.text_hash, c.start_line, c.start_char, c.end_line, c.end_char, "
        "c.heading_path, c.symbol, c.page, c.token_count, c.section_id, f.text FROM chunks c "
        "LEFT JOIN chunks_fts f ON f.rowid = c.rid WHERE c.file_id = ? ORDER BY c.ordinal",
        (file_id,),
    )
    return [
        ChunkRecord(
            chunk_id,
            owner,
            ordinal,
            text,
            text_hash,
            (sl, sc, el, ec),
            tuple(json.loads(heading_path)),
            symbol,
            page,
            token_count,
            section_id,
            lexical or "",
        )
        for (chunk_id, owner, ordinal, text, text_hash, sl, sc, el, ec, heading_path, symbol, page, token_count,
             section_id, lexical) in rows
    ]  # fmt: skip


def _vectors(db: sqlite3.Connection, chunk_ids: list[str], model_id: str) -> tuple[np.ndarray, dict[str, str]]:
    """The chunks' vectors in order, and the chunks still waiting for theirs (phase 2 of a pass) with the text
    the model will read: their rows are zero placeholders. A graph backend needs no vector, so a file is sent
    to it before its vectors exist; a vector backend only gets a file once it is whole."""
    found = {
        chunk: np.frombuffer(blob, dtype=np.float32)
        for chunk, blob in db.execute(
            "SELECT chunk_id, vector FROM vectors WHERE model_id = ? AND chunk_id IN (SELECT value FROM json_each(?))",
            (model_id, json.dumps(chunk_ids)),
        )
    }
    pending = {
        str(chunk): str(text)
        for chunk, text in db.execute(
            "SELECT chunk_id, embed_text FROM pending_vectors WHERE chunk_id IN (SELECT value FROM json_each(?))",
            (json.dumps(chunk_ids),),
        )
    }
    if not chunk_ids:
        return np.zeros((0, 0), dtype=np.float32), pending
    width = len(next(iter(found.values()))) if found else 0
    return np.stack([found.get(chunk, np.zeros(width, dtype=np.float32)) for chunk in chunk_ids]), pending


def _symbols(db: sqlite3.Connection, file_id: str) -> list[SymbolRecord]:
    rows = db.execute(
        "SELECT id, file_id, chunk_id, name, qualified_name, kind, start_line, start_char, end_line, end_char, "
        "name_line, name_char, doc FROM symbols WHERE file_id = ? ORDER BY rowid",
        (file_id,),
    )
    return [
        SymbolRecord(sid, owner, chunk, name, qualified, kind, (sl, sc, el, ec), nl, nc, doc)
        for sid, owner, chunk, name, qualified, kind, sl, sc, el, ec, nl, nc, doc in rows
    ]


def _sections(db: sqlite3.Connection, file_id: str) -> list[SectionRecord]:
    rows = db.execute(
        "SELECT id, file_id, title, level, start_line, start_char, end_line, end_char, parent_id FROM sections "
        "WHERE file_id = ? ORDER BY rowid",
        (file_id,),
    )
    return [
        SectionRecord(sid, owner, title, level, (sl, sc, el, ec), parent)
        for sid, owner, title, level, sl, sc, el, ec, parent in rows
    ]
