"""The scanner: ignore files at any depth, settings globs, links, odd names and bad entries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localmind.config import IndexingSettings
from localmind.errors import ConfigError
from localmind.indexing.scanner import ScannedFile, Skipped, scan


def write(path: Path, text: str = "text\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(root: Path, **settings: object) -> tuple[dict[str, ScannedFile], dict[str, str]]:
    files: dict[str, ScannedFile] = {}
    skipped: dict[str, str] = {}
    for entry in scan(root, IndexingSettings(**settings)):
        if isinstance(entry, Skipped):
            assert entry.rel_path not in skipped, f"{entry.rel_path} reported twice"
            skipped[entry.rel_path] = entry.reason
        else:
            assert entry.rel_path not in files, f"{entry.rel_path} scanned twice"
            files[entry.rel_path] = entry
    return files, skipped


def test_nested_ignore_files_with_negation(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\nbuild/\n/top-only.txt\n")
    write(tmp_path / "app.log")
    write(tmp_path / "build" / "out.txt")
    write(tmp_path / "top-only.txt")
    write(tmp_path / "sub" / "top-only.txt")
    write(tmp_path / "sub" / ".gitignore", "!keep.log\n/local.txt\n")
    write(tmp_path / "sub" / "keep.log")
    write(tmp_path / "sub" / "other.log")
    write(tmp_path / "sub" / "local.txt")
    write(tmp_path / "local.txt")
    write(tmp_path / "sub" / "deeper" / ".ignore", "*.tmp\n")
    write(tmp_path / "sub" / "deeper" / "a.tmp")
    write(tmp_path / "sub" / "deeper" / ".localmindignore", "!a.tmp\nprivate/\n")
    write(tmp_path / "sub" / "deeper" / "private" / "diary.md")
    write(tmp_path / "sub" / "deeper" / "b.tmp")
    files, skipped = run(tmp_path)

    assert skipped["app.log"] == "ignored"
    assert skipped["build/"] == "ignored"
    assert "build/out.txt" not in skipped and "build/out.txt" not in files  # Pruned, reported once.
    assert skipped["top-only.txt"] == "ignored"
    assert "sub/top-only.txt" in files  # "/top-only.txt" is anchored to the root's folder.
    assert "sub/keep.log" in files  # A deeper negation overrides the root's pattern.
    assert skipped["sub/other.log"] == "ignored"
    assert skipped["sub/local.txt"] == "ignored"
    assert "local.txt" in files  # "/local.txt" in sub/ is relative to sub/.
    assert "sub/deeper/a.tmp" in files  # .localmindignore comes after .ignore in the same folder.
    assert skipped["sub/deeper/b.tmp"] == "ignored"
    assert skipped["sub/deeper/private/"] == "ignored"
    assert ".gitignore" in files


def test_invalid_ignore_patterns_are_dropped(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "!\n[z-a]\n\\\n*.log\n")
    write(tmp_path / "a.log")
    write(tmp_path / "a.md")
    files, skipped = run(tmp_path)
    assert skipped == {"a.log": "ignored"}
    assert set(files) == {".gitignore", "a.md"}


def test_invalid_setting_patterns_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"indexing\.exclude"):
        run(tmp_path, exclude=["[z-a]"])


def test_git_info_exclude_applies(tmp_path: Path) -> None:
    write(tmp_path / ".git" / "info" / "exclude", "scratch.md\n")
    write(tmp_path / "scratch.md")
    _, skipped = run(tmp_path)
    assert skipped["scratch.md"] == "ignored"


def test_vcs_folders_are_pruned(tmp_path: Path) -> None:
    for name in (".git", ".hg", ".svn"):
        write(tmp_path / name / "config")
    write(tmp_path / "sub" / ".git" / "HEAD")
    files, skipped = run(tmp_path)
    assert skipped == {
        ".git/": "ignored (version control)",
        ".hg/": "ignored (version control)",
        ".svn/": "ignored (version control)",
        "sub/.git/": "ignored (version control)",
    }
    assert files == {}


def test_exclude_and_include_globs(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "guide.md")
    write(tmp_path / "docs" / "drafts" / "wip.md")
    write(tmp_path / "src" / "app.py")
    write(tmp_path / "src" / "app.lock")
    write(tmp_path / "notes.txt")
    files, skipped = run(tmp_path, exclude=["docs/drafts/", "*.lock"], include=["*.md", "src/"])
    assert set(files) == {"docs/guide.md", "src/app.py"}
    assert skipped["docs/drafts/"] == "excluded"
    assert skipped["src/app.lock"] == "excluded"
    assert skipped["notes.txt"] == "not included"


def test_symlinks_never_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = write(tmp_path / "outside" / "secret.md")
    write(root / "real" / "doc.md")
    (root / "out-dir").symlink_to(outside.parent)
    (root / "out-file.md").symlink_to(outside)
    (root / "real" / "up").symlink_to(root)  # A folder linked to its parent's parent: a loop.
    (root / "real" / "self").symlink_to(root / "real")
    (root / "dangling.md").symlink_to(root / "missing.md")
    (root / "inside.md").symlink_to(root / "real" / "doc.md")
    (root / "zz-linked").symlink_to(root / "ignored-real")
    write(root / "ignored-real" / "kept-through-link.md")
    write(root / ".gitignore", "ignored-real/\n")
    files, skipped = run(root)

    assert skipped["out-dir/"] == "symlink outside root"
    assert skipped["out-file.md"] == "symlink outside root"
    assert skipped["real/up/"] == "symlink loop"
    assert skipped["real/self/"] == "symlink loop"
    assert skipped["dangling.md"] == "broken symlink"
    assert skipped["ignored-real/"] == "ignored"
    assert {"real/doc.md", "inside.md", "zz-linked/kept-through-link.md"} <= set(files)
    assert all(f.abs_path.resolve().is_relative_to(root.resolve()) for f in files.values())


def test_a_link_to_a_folder_already_walked_is_a_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "b" / "doc.md")
    (tmp_path / "a-link").symlink_to(tmp_path / "b")  # Sorted first, but real folders are walked first.
    files, skipped = run(tmp_path)
    assert "b/doc.md" in files and "a-link/doc.md" not in files
    assert skipped["a-link/"] == "symlink duplicate"


def test_size_cap_and_empty_files(tmp_path: Path) -> None:
    with (tmp_path / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (tmp_path / "empty.md").write_bytes(b"")
    write(tmp_path / "small.md", "x" * 1000)
    files, skipped = run(tmp_path, max_file_bytes=1000)
    assert skipped["huge.txt"] == f"too large ({50 * 1024 * 1024} bytes > 1000)"
    assert files["empty.md"].size == 0
    assert files["small.md"].size == 1000


def test_secret_file_names(tmp_path: Path) -> None:
    names = [".env", ".env.local", "id_rsa", "id_ed25519.pub", "server.pem", "ID_RSA", "credentials"]
    for name in names:
        write(tmp_path / name)
    write(tmp_path / "environment.md")
    files, skipped = run(tmp_path)
    assert {name: skipped.get(name) for name in names} == dict.fromkeys(names, "secret file name")
    assert set(files) == {"environment.md"}
    (tmp_path / "innocent.txt").symlink_to(tmp_path / ".env")
    _, skipped = run(tmp_path)
    assert skipped["innocent.txt"] == "secret file name"
    files, _ = run(tmp_path, skip_secret_files=False)
    assert set(files) == {*names, "environment.md", "innocent.txt"}


def test_secret_stores_are_matched_by_name_and_shape(tmp_path: Path) -> None:
    """Failed before (issue #17, finding 7): secrets.* skipped the documentation of Python's secrets module."""
    stores = ["secrets.json", "secrets.yaml", "credentials.toml", "config/secrets.env"]
    documents = ["library/secrets.rst.txt", "secrets.md", "src/secrets.py", "credentials.md"]
    for name in stores + documents:
        write(tmp_path / name)
    files, skipped = run(tmp_path)
    assert {name: skipped.get(name) for name in stores} == dict.fromkeys(stores, "secret file name")
    assert set(files) == set(documents)


def test_special_files_are_not_regular(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "a-fifo")
    files, skipped = run(tmp_path)
    assert (files, skipped) == ({}, {"a-fifo": "not a regular file"})


def test_unreadable_entries_are_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked_file = write(tmp_path / "locked.md")
    write(tmp_path / "locked-dir" / "inner.md")
    write(tmp_path / "fine.md")
    locked_file.chmod(0)
    (tmp_path / "locked-dir").chmod(0)
    try:
        files, skipped = run(tmp_path)
        assert "fine.md" in files
        if os.geteuid() != 0:  # Root reads files whatever their mode.
            assert skipped["locked.md"] == "unreadable: Permission denied"
            assert skipped["locked-dir/"] == "unreadable: Permission denied"
    finally:
        (tmp_path / "locked-dir").chmod(0o755)
        locked_file.chmod(0o644)

    # The same failures, simulated so that they are checked as root too.
    real_open, real_scandir = os.open, os.scandir

    def failing_open(path: str, *args: int) -> int:
        if str(path).endswith("locked.md"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args)

    def failing_scandir(path: str) -> object:
        if str(path).endswith("locked-dir"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "open", failing_open)
    monkeypatch.setattr(os, "scandir", failing_scandir)
    files, skipped = run(tmp_path)
    assert skipped["locked.md"] == "unreadable: Permission denied"
    assert skipped["locked-dir/"] == "unreadable: Permission denied"
    assert "fine.md" in files


def test_a_missing_root_is_one_skip(tmp_path: Path) -> None:
    assert list(scan(tmp_path / "missing", IndexingSettings())) == [
        Skipped(".", "unreadable: No such file or directory")
    ]


ODD_NAMES = ["with space.md", "quote'\"s.md", "new\nline.md", "ünïcödé 名前.md", "'); DROP TABLE chunks; --.md"]


def test_odd_names_are_just_names(tmp_path: Path) -> None:
    for name in ODD_NAMES:
        write(tmp_path / "dir with space" / name)
    files, skipped = run(tmp_path)
    assert skipped == {}
    assert set(files) == {f"dir with space/{name}" for name in ODD_NAMES}
    for rel, scanned in files.items():
        assert scanned.abs_path == tmp_path.resolve() / rel
        assert scanned.root == tmp_path.resolve()


def test_undecodable_file_names_are_skipped(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    try:
        with open(os.path.join(folder, b"bad\xff.txt"), "wb") as handle:
            handle.write(b"text")
        os.mkdir(os.path.join(folder, b"dir\xfe"))
    except OSError:
        pytest.skip("this filesystem refuses names that are not UTF-8")
    with open(os.path.join(folder, b"dir\xfe", b"inner.txt"), "wb") as handle:
        handle.write(b"text")
    write(tmp_path / "good.txt")
    files, skipped = run(tmp_path)
    assert skipped == {"bad\ufffd.txt": "undecodable file name", "dir\ufffd/": "undecodable file name"}
    assert set(files) == {"good.txt"}


def test_order_is_deterministic_and_sorted(tmp_path: Path) -> None:
    for rel in ["b.md", "a/z.md", "a/b/c.md", "C.md", "a.md", "a/a.md"]:
        write(tmp_path / rel)
    first = [e.rel_path for e in scan(tmp_path, IndexingSettings())]
    second = [e.rel_path for e in scan(tmp_path, IndexingSettings())]
    assert first == second == ["C.md", "a/a.md", "a/b/c.md", "a/z.md", "a.md", "b.md"]


def test_size_and_mtime_are_recorded(tmp_path: Path) -> None:
    path = write(tmp_path / "note.md", "hello\n")
    os.utime(path, ns=(1_000_000_000, 2_000_000_123))
    files, _ = run(tmp_path)
    assert (files["note.md"].size, files["note.md"].mtime_ns) == (6, 2_000_000_123)


def test_deep_trees_do_not_recurse(tmp_path: Path) -> None:
    depth = 1100  # Deeper than Python's recursion limit.
    descriptors = [os.open(tmp_path, os.O_RDONLY)]
    try:
        # Made and removed relative to open folders: whole paths this long make each step slow, and
        # recursive clean-up of the temporary folder would hit the recursion limit too.
        for _ in range(depth):
            os.mkdir("d", dir_fd=descriptors[-1])
            descriptors.append(os.open("d", os.O_RDONLY, dir_fd=descriptors[-1]))
        os.close(os.open("deep.md", os.O_WRONLY | os.O_CREAT, dir_fd=descriptors[-1]))
        files, _ = run(tmp_path)
        assert list(files) == ["d/" * depth + "deep.md"]
    finally:
        os.unlink("deep.md", dir_fd=descriptors[-1])
        for parent, child in zip(reversed(descriptors[:-1]), reversed(descriptors[1:]), strict=True):
            os.close(child)
            os.rmdir("d", dir_fd=parent)
        os.close(descriptors[0])
