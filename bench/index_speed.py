"""Indexing speed on a real corpus nobody here wrote: the Python 3.11 documentation sources.

Measures a full index of `_sources/**/*.rst.txt` from Debian's python3.11-doc (files/s, chunks/s, the
share of wall time spent outside the embedder, peak RSS), then the time from saving one changed file
to it being searchable through `localmind index --watch`.

With --first-search, it measures instead how soon a first index answers: from `localmind index` starting
to the moment every file is in the store and a word found only in the last file (in path order) is
searchable, then (unless --searchable-only) until the run ends with every chunk embedded. --code-of FOLDER
runs another checkout's code (for example the previous commit's, in a git worktree) in the same way, so
both are measured back to back on the same machine and corpus.

    .venv/bin/python bench/index_speed.py [--quick]
    .venv/bin/python bench/index_speed.py --first-search [--limit N] [--searchable-only] [--code-of FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine, save_results

CORPUS_CACHE = Path.home() / ".cache" / "localmind-bench" / "python3.11-doc"


def python_docs() -> Path:
    """The .rst.txt sources, fetched once with `apt-get download` and unpacked with dpkg -x."""
    sources = CORPUS_CACHE / "usr" / "share" / "doc" / "python3.11" / "html" / "_sources"
    if not sources.is_dir():
        CORPUS_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "python3.11-doc"], cwd=CORPUS_CACHE, check=True)
        package = next(CORPUS_CACHE.glob("python3.11-doc_*.deb"))
        subprocess.run(["dpkg", "-x", str(package), str(CORPUS_CACHE)], check=True)
    return sources


def workspace_from(sources: Path, target: Path, limit: int | None) -> int:
    files = sorted(sources.rglob("*.rst.txt"))[:limit]
    for path in files:
        destination = target / path.relative_to(sources)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    return len(files)


def environment(data: Path) -> dict[str, str]:
    return {**os.environ, "LOCALMIND_INDEXING__DATA_DIR": str(data)}


def full_index(workspace: Path, data: Path) -> dict[str, float]:
    """One cold run in a child process, so its peak RSS is its own."""
    command = [sys.executable, "-m", "localmind.cli", "index", "--json", str(workspace)]
    began = time.perf_counter()
    result = subprocess.run(command, env=environment(data), capture_output=True, text=True, check=True)
    wall = time.perf_counter() - began
    report = json.loads(result.stdout.strip().splitlines()[-1])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "wall_s": wall,
        "index_s": report["seconds"],
        "files": report["files_indexed"],
        "chunks": report["chunks_written"],
        "files_per_s": report["files_indexed"] / report["seconds"],
        "chunks_per_s": report["chunks_written"] / report["seconds"],
        "embed_s": report["embed_seconds"],
        "outside_embedder_share": 1 - report["embed_seconds"] / report["seconds"],
        "peak_rss_mib": peak_mib,
    }


def searchable(store: Path, word: str) -> bool:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as db:
        return bool(db.execute("SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ?", (word,)).fetchone())


def save_to_searchable(workspace: Path, data: Path, rounds: int) -> list[float]:
    """Edit one file while `localmind index --watch` runs; time until its new word is in the index."""
    command = [sys.executable, "-m", "localmind.cli", "index", "--watch", "--json", str(workspace)]
    watcher = subprocess.Popen(
        command, env=environment(data), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert watcher.stdout is not None
        watcher.stdout.readline()  # The initial (incremental, unchanged) run has finished.
        time.sleep(1.0)
        store = next(data.glob("workspaces/*/index.sqlite3"))
        target = sorted(workspace.rglob("*.rst.txt"))[len(list(workspace.rglob("*.rst.txt"))) // 2]
        return [_one_edit(target, store, n) for n in range(rounds)]
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


def _one_edit(target: Path, store: Path, n: int) -> float:
    word = f"zqxmarker{n}"
    began = time.perf_counter()
    with target.open("a", encoding="utf-8") as handle:
        handle.write(f"\n\nA freshly saved paragraph mentions {word}.\n")
    while not searchable(store, word):
        if time.perf_counter() - began > 30:
            raise TimeoutError(f"{word} never became searchable")
        time.sleep(0.005)
    latency = time.perf_counter() - began
    time.sleep(0.5)
    return latency


MARKER = "zqxlastfilemarker"


def first_search(workspace: Path, data: Path, code_of: Path | None, searchable_only: bool) -> dict[str, float | None]:
    """Seconds from `localmind index` starting until every file answers a word search, and until the run
    ends (None when it was stopped at the first moment)."""
    files = sorted(workspace.rglob("*.rst.txt"))
    with files[-1].open("a", encoding="utf-8") as handle:
        handle.write(f"\n\nThe last file alone mentions {MARKER}.\n")
    env = environment(data)
    if code_of is not None:
        env["PYTHONPATH"] = str(code_of / "server")
    command = [sys.executable, "-m", "localmind.cli", "index", "--json", str(workspace)]
    began = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        searchable_s = _wait_until_searchable(data, len(files), child, began)
        if searchable_only:
            return {"searchable_s": searchable_s, "total_s": None}
        child.wait()
        return {"searchable_s": searchable_s, "total_s": time.perf_counter() - began}
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(timeout=30)


def _wait_until_searchable(data: Path, count: int, child: subprocess.Popen[str], began: float) -> float:
    while True:
        stores = list(data.glob("workspaces/*/index.sqlite3"))
        if stores and _all_searchable(stores[0], count):
            return time.perf_counter() - began
        if child.poll() is not None and not (stores and _all_searchable(stores[0], count)):
            raise RuntimeError(f"the index run ended (status {child.returncode}) before every file was searchable")
        time.sleep(0.05)


def _all_searchable(store: Path, count: int) -> bool:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as db:
            files = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            return bool(files >= count and searchable(store, MARKER))
    except sqlite3.Error:  # The store is being created.
        return False


def main_first_search(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        workspace, data = Path(scratch) / "pydoc", Path(scratch) / "data"
        count = workspace_from(python_docs(), workspace, args.limit)
        timing = first_search(workspace, data, args.code_of, args.searchable_only)
    code = str(args.code_of) if args.code_of else "this checkout"
    results = {"machine": machine(), "corpus_files": count, "code": code, **timing}
    print(json.dumps(results, indent=2))
    save_results("first_search", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="index 60 files only")
    parser.add_argument("--first-search", action="store_true", help="time until every file answers a search")
    parser.add_argument("--limit", type=int, help="with --first-search: only the first N files")
    parser.add_argument("--searchable-only", action="store_true", help="stop the run once every file answers")
    parser.add_argument("--code-of", type=Path, help="run the localmind of another checkout (its server/)")
    args = parser.parse_args()
    if args.first_search:
        main_first_search(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        workspace, data = Path(scratch) / "pydoc", Path(scratch) / "data"
        count = workspace_from(python_docs(), workspace, 60 if args.quick else None)
        size = sum(p.stat().st_size for p in workspace.rglob("*") if p.is_file())
        print(f"corpus: {count} files, {size / 1e6:.1f} MB", file=sys.stderr)
        full = full_index(workspace, data)
        latencies = save_to_searchable(workspace, data, rounds=5)
    results = {
        "machine": machine(),
        "corpus": {"files": count, "bytes": size},
        "full_index": full,
        "save_to_searchable_ms": [round(x * 1000, 1) for x in latencies],
    }
    print(json.dumps(results, indent=2))
    print(
        f"\nfull index: {full['files']:.0f} files, {full['chunks']:.0f} chunks in {full['index_s']:.1f} s "
        f"({full['files_per_s']:.1f} files/s, {full['chunks_per_s']:.1f} chunks/s)"
    )
    print(f"outside the embedder: {full['outside_embedder_share']:.1%} of wall time (target <= 15 %)")
    print(f"peak RSS: {full['peak_rss_mib']:.0f} MiB")
    print(
        f"save -> searchable: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms (target <= 300 ms)"
    )
    save_results("index_speed" + ("-quick" if args.quick else ""), results)


if __name__ == "__main__":
    main()
