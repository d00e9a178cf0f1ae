"""How a link target written in a document becomes a Link: a URL, or a path to another file."""

from __future__ import annotations

import re
from urllib.parse import unquote

from localmind.indexing.documents import Link

# A URI scheme of two or more characters, so that a Windows drive letter ("C:") stays a path.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")


def link_to(raw_target: str, start: int, end: int) -> Link | None:
    """A "url" link for a target with a scheme, a "markdown" link for a path (anchor dropped, URL-decoded).

    Returns None for a link to an anchor in the same document, or an empty target.
    """
    target = raw_target.strip().removeprefix("<").removesuffix(">").strip()
    if not target or target.startswith("#"):
        return None
    if _SCHEME.match(target):
        return Link(target, "url", start, end)
    path = unquote(target.split("#", 1)[0])
    return Link(path, "markdown", start, end) if path else None
