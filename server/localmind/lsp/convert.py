"""Domain results → lsprotocol types. Domain ranges count Python characters; clients count UTF-16
code units (the LSP default), so every outgoing range passes through the workspace's position codec."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from localmind.retrieval.results import Location, Range, SearchHit


def lsp_range(value: Range) -> types.Range:
    return types.Range(
        start=types.Position(line=value.start.line, character=value.start.character),
        end=types.Position(line=value.end.line, character=value.end.character),
    )


# Past this size a file's positions are sent as the server counts them rather than read to convert them.
_MOST_BYTES_FOR_POSITIONS = 16_000_000


def readable_file(path: str | None, limit: int) -> bool:
    """A regular file (not a FIFO, device or folder) of at most `limit` bytes."""
    if path is None:
        return False
    try:
        info = Path(path).stat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size <= limit


def client_range(workspace: Workspace, uri: str, value: Range) -> types.Range:
    """The range in the client's position encoding, using the file's text when it is open or readable."""
    server_range = lsp_range(value)
    is_open = unquote(uri) in workspace.text_documents
    if not is_open and not readable_file(to_fs_path(uri), _MOST_BYTES_FOR_POSITIONS):
        return server_range
    try:
        lines = workspace.get_text_document(uri).lines
    except (OSError, ValueError):
        return server_range
    if not lines:
        return server_range
    return workspace.position_codec.range_to_client_units(lines, server_range)


def lsp_location(workspace: Workspace, location: Location) -> types.Location:
    return types.Location(uri=location.uri, range=client_range(workspace, location.uri, location.range))


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """A search hit as docs/protocol.md describes it: the hit's fields plus an LSP Location."""
    value = hit.to_json()
    value["location"] = {"uri": hit.uri, "range": _range_json(hit.range)}
    return value


def _range_json(value: Range) -> dict[str, Any]:
    return {
        "start": {"line": value.start.line, "character": value.start.character},
        "end": {"line": value.end.line, "character": value.end.character},
    }


_SIGNAL_OF_ROLE = {"graph": "the knowledge graph", "vectors": "vector search", "embedder": "the embedder"}


def degraded_note(unavailable: dict[str, tuple[str, float]]) -> str:
    """A Markdown line for a card answered without some signals, e.g. "graph unavailable since 12:03";
    empty when every signal answered."""
    if not unavailable:
        return ""
    parts = [
        why
        if role == "embedding"
        else f"{_SIGNAL_OF_ROLE.get(role, role)} unavailable since {time.strftime('%H:%M', time.localtime(since))}"
        for role, (why, since) in sorted(unavailable.items())
    ]
    return "\n\n_Degraded: " + "; ".join(parts) + " — answered from the other signals._"


def degraded_roles(unavailable: dict[str, tuple[str, float]]) -> list[str]:
    """The roles (graph, vectors, embedder) whose signal a search had to leave out, and "embedding" while
    meaning search covers only part of the chunks."""
    return sorted(unavailable)
