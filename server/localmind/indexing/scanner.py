"""Find the files of a workspace folder that may be indexed, and say why each other one is not.

``scan`` walks one root folder and yields, in a deterministic order, a ``ScannedFile`` for every file
to index and a ``Skipped`` for every file or folder left out. It never reads file contents (binary
detection belongs to ``decode``), never leaves the root, and never raises for a single bad entry.

Order: a depth-first walk with the names of each folder sorted by code point; folders reached through
symbolic links are walked after all real folders, so a file's real path wins over a linked one.

Ignore rules follow gitignore semantics (``pathspec.GitIgnoreSpec``): ``.gitignore``, ``.ignore`` and
``.localmindignore`` at any depth, read in that order within a folder, each pattern relative to its
file's folder, a later file and a deeper folder overriding earlier ones; ``.git/info/exclude`` of the
root applies too. A folder that is ignored or excluded is reported once, as ``"<rel>/"``, and pruned.

Reasons start with a stable code, some followed by a detail: ``ignored``, ``ignored (version
control)``, ``excluded``, ``not included``, ``secret file name``, ``undecodable file name``,
``symlink outside root``, ``symlink loop``, ``symlink duplicate`` (a link to a folder already
walked), ``duplicate folder``, ``broken symlink``, ``not a regular file``, ``too large (N bytes >
cap)`` and ``unreadable: <strerror>``.

An invalid pattern in an ignore file is dropped (its other patterns still apply); an invalid pattern
in ``settings.include`` or ``settings.exclude`` raises ConfigError before anything is yielded.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from pathspec import GitIgnoreSpec

from localmind.config import IndexingSettings
from localmind.errors import ConfigError

IGNORE_FILE_NAMES = (".gitignore", ".ignore", ".localmindignore")
VCS_FOLDER_NAMES = frozenset({".git", ".hg", ".svn"})


@dataclass(frozen=True)
class ScannedFile:
    """A file to index: where it is, and the size and modification time seen when it was listed."""

    root: Path
    rel_path: str
    abs_path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file, or a folder (its rel_path ends with "/"), left out, and why."""

    rel_path: str
    reason: str


@dataclass(frozen=True)
class _IgnoreFile:
    """The patterns of one ignore file, which apply to paths below its folder."""

    base: str  # The folder's path relative to the root, "" for the root itself.
    spec: GitIgnoreSpec

    def verdict(self, rel_path: str) -> bool | None:
        """True if ignored, False if re-included by a negation, None if no pattern matched."""
        if self.base:
            if not rel_path.startswith(self.base + "/"):
                return None
            rel_path = rel_path[len(self.base) + 1 :]
        return self.spec.check_file(rel_path).include


@dataclass(frozen=True)
class _Folder:
    """A folder to list: its path on disk and in the root's namespace, and the ignore files above it."""

    abs_path: str
    rel_path: str
    ignore_files: tuple[_IgnoreFile, ...]
    via_symlink: bool = False


@dataclass
class _Walk:
    """What one scan needs everywhere: the root, the compiled settings, the folders already listed."""

    root: Path
    settings: IndexingSettings
    exclude: GitIgnoreSpec
    include: GitIgnoreSpec | None
    secret_patterns: tuple[str, ...]
    visited: set[tuple[int, int]] = field(default_factory=set)
    linked_folders: deque[_Folder] = field(default_factory=deque)


def scan(root: Path, settings: IndexingSettings) -> Iterator[ScannedFile | Skipped]:
    """Yield every file under root to index, and every file or folder left out with its reason.

    A root that cannot be listed yields one ``Skipped(".", "unreadable: ...")``.
    """
    walk = _start(Path(root), settings)
    top = _Folder(str(walk.root), "", _root_ignore_files(walk.root))
    yield from _walk_tree(top, walk)
    while walk.linked_folders:
        yield from _walk_tree(walk.linked_folders.popleft(), walk)


def _start(root: Path, settings: IndexingSettings) -> _Walk:
    return _Walk(
        root=root.resolve(),
        settings=settings,
        exclude=_setting_spec("indexing.exclude", settings.exclude),
        include=_setting_spec("indexing.include", settings.include) if settings.include else None,
        secret_patterns=tuple(p.lower() for p in settings.secret_files) if settings.skip_secret_files else (),
    )


def _setting_spec(name: str, patterns: list[str]) -> GitIgnoreSpec:
    for pattern in patterns:
        if not _compiles(pattern):
            raise ConfigError(f"setting {name}: invalid pattern {pattern!r}")
    return GitIgnoreSpec.from_lines(patterns)


def _ignore_spec(lines: list[str]) -> GitIgnoreSpec:
    """The patterns of an ignore file, less any that are invalid (as git skips them too)."""
    try:
        return GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):
        return GitIgnoreSpec.from_lines([line for line in lines if _compiles(line)])


def _compiles(pattern: str) -> bool:
    try:
        GitIgnoreSpec.from_lines([pattern])
    except (ValueError, re.error):
        return False
    return True


def _root_ignore_files(root: Path) -> tuple[_IgnoreFile, ...]:
    """Git's per-repository exclude file, which applies below the root like a root .gitignore."""
    lines = _read_ignore_lines(str(root / ".git" / "info" / "exclude"))
    return (_IgnoreFile("", _ignore_spec(lines)),) if lines else ()


def _walk_tree(top: _Folder, walk: _Walk) -> Iterator[ScannedFile | Skipped]:
    """Depth-first over real folders with an explicit stack; linked folders are queued on walk."""
    opened = _open_folder(top, walk)
    if isinstance(opened, Skipped):
        yield opened
        return
    stack = [opened]
    while stack:
        folder, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        result = _visit(entry, folder, walk)
        if isinstance(result, _Folder):
            child = _open_folder(result, walk)
            if isinstance(child, Skipped):
                yield child
            else:
                stack.append(child)
        elif result is not None:
            yield result


def _open_folder(folder: _Folder, walk: _Walk) -> tuple[_Folder, Iterator[os.DirEntry[str]]] | Skipped:
    """List a folder once, sorted, with its own ignore files added; or say why it cannot be."""
    shown = _display(folder.rel_path + "/" if folder.rel_path else ".")
    try:
        info = os.stat(folder.abs_path)
        identity = (info.st_dev, info.st_ino)
        if identity in walk.visited:
            return Skipped(shown, _revisit_reason(folder))
        walk.visited.add(identity)
        with os.scandir(folder.abs_path) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        return Skipped(shown, _unreadable(exc))
    ignore_files = folder.ignore_files + tuple(_own_ignore_files(folder.rel_path, entries))
    return _Folder(folder.abs_path, folder.rel_path, ignore_files, folder.via_symlink), iter(entries)


def _revisit_reason(folder: _Folder) -> str:
    """A link back to a folder above it is a loop; a link to any other listed folder, a duplicate."""
    if not folder.via_symlink:
        return "duplicate folder"  # The same folder mounted twice, for example.
    target = os.path.realpath(folder.abs_path)
    link_parent = os.path.realpath(os.path.dirname(folder.abs_path))
    is_ancestor = link_parent == target or link_parent.startswith(target.rstrip(os.sep) + os.sep)
    return "symlink loop" if is_ancestor else "symlink duplicate"


def _own_ignore_files(rel_dir: str, entries: Iterable[os.DirEntry[str]]) -> Iterator[_IgnoreFile]:
    by_name = {e.name: e for e in entries}
    for name in IGNORE_FILE_NAMES:
        entry = by_name.get(name)
        # A linked ignore file may point outside the root, which is never read.
        if entry is not None and _is_plain_file(entry):
            lines = _read_ignore_lines(entry.path)
            if lines:
                yield _IgnoreFile(rel_dir, _ignore_spec(lines))


def _is_plain_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _read_ignore_lines(path: str) -> list[str]:
    """An ignore file's lines; one that cannot be read ignores nothing (the file is reported itself)."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _visit(entry: os.DirEntry[str], folder: _Folder, walk: _Walk) -> ScannedFile | Skipped | _Folder | None:
    """Decide one entry: a file to index, a reason to skip it, or a folder to list next."""
    rel = f"{folder.rel_path}/{entry.name}" if folder.rel_path else entry.name
    is_dir = _is_dir(entry)
    shown = rel + "/" if is_dir else rel
    reason = _rule_reason(entry.name, rel, is_dir, folder, walk)
    if reason is None and not _is_storable(rel):
        reason = "undecodable file name"
    if reason is not None:
        return Skipped(_display(shown), reason)
    return _visit_on_disk(entry, rel, is_dir, folder, walk)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _rule_reason(name: str, rel: str, is_dir: bool, folder: _Folder, walk: _Walk) -> str | None:
    """The reason the settings and ignore files leave a path out, judged by its name alone."""
    if name in VCS_FOLDER_NAMES:
        return "ignored (version control)"
    matched = rel + "/" if is_dir else rel
    if _is_ignored(matched, folder.ignore_files):
        return "ignored"
    if walk.exclude.match_file(matched):
        return "excluded"
    if is_dir:
        return None
    if walk.include is not None and not walk.include.match_file(rel):
        return "not included"
    if _is_secret_name(name, walk.secret_patterns):
        return "secret file name"
    return None


def _is_ignored(rel_path: str, ignore_files: tuple[_IgnoreFile, ...]) -> bool:
    """Gitignore precedence: the last matching pattern wins, and deeper files come later."""
    for ignore_file in reversed(ignore_files):
        verdict = ignore_file.verdict(rel_path)
        if verdict is not None:
            return verdict
    return False


def _is_secret_name(name: str, patterns: tuple[str, ...]) -> bool:
    # Compared without case: ID_RSA or .ENV hold the same secrets on a case-insensitive disk.
    lowered = name.lower()
    return any(fnmatchcase(lowered, pattern) for pattern in patterns)


def _visit_on_disk(
    entry: os.DirEntry[str], rel: str, is_dir: bool, folder: _Folder, walk: _Walk
) -> ScannedFile | Skipped | _Folder | None:
    """Check what the entry is on disk: links, folders, special files, size and read access."""
    shown = rel + "/" if is_dir else rel
    is_link = entry.is_symlink()
    if is_link:
        link_reason = _symlink_reason(entry.path, is_dir, walk)
        if link_reason is not None:
            return Skipped(shown, link_reason)
    try:
        info = entry.stat(follow_symlinks=True)
    except OSError as exc:
        return Skipped(shown, _unreadable(exc))
    if stat.S_ISDIR(info.st_mode):
        child = _Folder(entry.path, rel, folder.ignore_files, via_symlink=is_link or folder.via_symlink)
        if is_link:
            walk.linked_folders.append(child)
            return None
        return child
    if not stat.S_ISREG(info.st_mode):
        return Skipped(shown, "not a regular file")
    cap = walk.settings.max_file_bytes
    if info.st_size > cap:
        return Skipped(shown, f"too large ({info.st_size} bytes > {cap})")
    problem = _read_problem(entry.path)
    if problem is not None:
        return Skipped(shown, problem)
    return ScannedFile(walk.root, rel, Path(entry.path), info.st_size, info.st_mtime_ns)


def _symlink_reason(path: str, is_dir: bool, walk: _Walk) -> str | None:
    """Why a symbolic link may not be followed, or None when its target lies inside the root.

    A link to a file named like a secret (notes.txt -> .env) is a secret file too.
    """
    try:
        target = Path(path).resolve(strict=True)
    except FileNotFoundError:
        return "broken symlink"
    except RuntimeError:  # Python 3.11 reports a chain of links that never ends this way.
        return "symlink loop"
    except OSError as exc:
        return "symlink loop" if exc.errno == errno.ELOOP else _unreadable(exc)
    if not target.is_relative_to(walk.root):
        return "symlink outside root"
    if not is_dir and _is_secret_name(target.name, walk.secret_patterns):
        return "secret file name"
    return None


def _read_problem(path: str) -> str | None:
    """Open the file without reading it, so a file that cannot be read is reported here."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return _unreadable(exc)
    os.close(descriptor)
    return None


def _unreadable(exc: OSError) -> str:
    return f"unreadable: {exc.strerror or exc}"


def _is_storable(rel_path: str) -> bool:
    """False for names holding bytes the filesystem encoding could not decode (surrogate escapes)."""
    try:
        rel_path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _display(rel_path: str) -> str:
    """The path as safe text: each undecodable byte of a name becomes U+FFFD."""
    if _is_storable(rel_path):
        return rel_path
    return os.fsencode(rel_path).decode("utf-8", errors="replace")
