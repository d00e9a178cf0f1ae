"""Where a workspace's store lives: the user's data folder, keyed by the workspace's root folders."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from localmind.config import IndexingSettings
from localmind.errors import LocalMindError
from localmind.indexing.ids import workspace_key

STORE_FILE = "index.sqlite3"
DESCRIPTION_FILE = "workspace.json"


@dataclass(frozen=True)
class Workspace:
    roots: tuple[Path, ...]
    key: str
    folder: Path

    @property
    def store_path(self) -> Path:
        return self.folder / STORE_FILE

    @property
    def lock_path(self) -> Path:
        return self.folder / "indexer.lock"

    def locate(self, path: Path) -> tuple[Path, str] | None:
        """The root holding path (the innermost, when roots nest) and path relative to it; None outside."""
        target = path.resolve()
        for root in sorted(self.roots, key=lambda r: len(r.parts), reverse=True):
            if target == root or root in target.parents:
                return root, target.relative_to(root).as_posix()
        return None


def open_workspace(roots: list[Path], settings: IndexingSettings) -> Workspace:
    """The workspace of these root folders, creating its folder and description on first use."""
    resolved = _resolve_roots(roots)
    key = workspace_key(list(resolved))
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", resolved[0].name)[:40] or "root"
    folder = settings.resolved_data_dir() / "workspaces" / f"{name}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    description = {"roots": [str(root) for root in resolved]}
    (folder / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2), encoding="utf-8")
    return Workspace(resolved, key, folder)


def find_workspace(path: Path, settings: IndexingSettings) -> Workspace | None:
    """The indexed workspace whose root holds path (the innermost root wins)."""
    target = path.resolve()
    best: tuple[int, Workspace] | None = None
    for description in (settings.resolved_data_dir() / "workspaces").glob(f"*/{DESCRIPTION_FILE}"):
        roots = tuple(Path(p) for p in json.loads(description.read_text(encoding="utf-8"))["roots"])
        for root in roots:
            if (target == root or root in target.parents) and (best is None or len(root.parts) > best[0]):
                workspace = Workspace(roots, description.parent.name.rsplit("-", 1)[-1], description.parent)
                best = (len(root.parts), workspace)
    return best[1] if best else None


def _resolve_roots(roots: list[Path]) -> tuple[Path, ...]:
    resolved = []
    for root in roots:
        path = root.expanduser().resolve()
        if not path.is_dir():
            raise LocalMindError(f"{root} is not a folder")
        resolved.append(path)
    return tuple(dict.fromkeys(resolved))
