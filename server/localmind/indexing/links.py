"""Where a link points: a wiki link, a Markdown link, an import, each resolved to the workspace paths (or the
note name, or the URL) that the store's joins match against. The indexer records these targets; navigation
resolves the link under the cursor with the same rules, so both always agree."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote


def link_targets(rel_path: str, kind: str, target: str, language: str) -> list[str]:
    """Where a link may point, as workspace paths (or a note name, or a URL) that a join can match."""
    if kind == "url":
        return [target]
    if kind == "wiki":
        return [posixpath.basename(target).removesuffix(".md").lower()]
    if kind == "markdown":
        resolved = _relative(rel_path, unquote(target.split("#", 1)[0]))
        return [resolved] if resolved else []
    return _import_candidates(rel_path, target, language)


def _relative(rel_path: str, target: str) -> str | None:
    if not target:
        return None
    base = "" if target.startswith("/") else posixpath.dirname(rel_path)
    joined = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
    return None if joined.startswith("..") else joined


_SCRIPT_SUFFIXES = ("", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", "/index.ts", "/index.tsx", "/index.js")


def _import_candidates(rel_path: str, target: str, language: str) -> list[str]:
    if language == "python":
        return _python_candidates(rel_path, target)
    if language in ("javascript", "typescript", "tsx") and target.startswith("."):
        base = _relative(rel_path, target)
        return [base + suffix for suffix in _SCRIPT_SUFFIXES] if base else []
    if language == "lua":
        return [target.replace(".", "/") + ".lua"]
    if language in ("c", "cpp", "bash"):
        return [p for p in (_relative(rel_path, target), target) if p]
    return []


def _python_candidates(rel_path: str, module: str) -> list[str]:
    dots = len(module) - len(module.lstrip("."))
    parts = module.lstrip(".").split(".") if module.lstrip(".") else []
    if dots:
        base = posixpath.dirname(rel_path)
        for _ in range(dots - 1):
            base = posixpath.dirname(base)
        stem = posixpath.join(base, *parts) if parts else base
    else:
        stem = posixpath.join(*parts) if parts else ""
    return [f"{stem}.py", f"{stem}/__init__.py"] if stem else []
