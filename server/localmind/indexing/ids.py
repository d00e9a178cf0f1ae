"""Stable identifiers, the same in every store.

A file's id derives from its workspace, root and path; a chunk's from its file, its text and how
many identical chunks precede it in the file. So an edit elsewhere in a file keeps a chunk's id, and
a rename gives new ids (the embedding cache still avoids re-embedding).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_ID_CHARS = 24


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def workspace_key(roots: list[Path]) -> str:
    return _digest(*sorted(str(root) for root in roots))[:16]


def server_workspace_key(roots: list[Path], owner: str, shared_name: str | None = None) -> str:
    """The workspace's key on the team servers: its owner's identity and its roots, so two users whose
    checkouts sit at the same path never share one; or, for a workspace the team chose to share, its name."""
    if shared_name:
        return _digest("shared", shared_name)[:16]
    return _digest("owned", owner, *sorted(str(root) for root in roots))[:16]


def file_id(workspace: str, root: Path, rel_path: str) -> str:
    return _digest("file", workspace, str(root), rel_path)[:_ID_CHARS]


def chunk_id(file: str, text_hash: str, occurrence: int) -> str:
    return _digest("chunk", file, text_hash, str(occurrence))[:_ID_CHARS]


def symbol_id(file: str, qualified_name: str, start: int) -> str:
    return _digest("symbol", file, qualified_name, str(start))[:_ID_CHARS]


def section_id(file: str, title: str, start: int) -> str:
    return _digest("section", file, title, str(start))[:_ID_CHARS]


def text_hash(text: str) -> str:
    return _digest(text)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
