"""Time to first query for a teammate: user A indexes a real repository into the team servers, then user B
(another identity, a copy at another path with 5 % of its files changed) indexes theirs.

The corpus is the Python 3.11 documentation sources (as in index_speed.py), the first --files files.
Both users run `localmind index --json` as a user would, against one Neo4j and one Milvus started here
(the test suite's servers), each with a data folder of their own. A's vectors reach the team embedding
cache as A embeds them; B's run looks every chunk up there first and embeds only the misses. Then the
same questions are asked in both workspaces, and the answers from unchanged files are compared.

    .venv/bin/python bench/team_index.py [--files 260] [--changed 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import machine, save_results, team_servers
from index_speed import python_docs, workspace_from
from tests.servers.milvus_server import MilvusServerProcess
from tests.servers.neo4j_server import Neo4jServer

QUESTIONS = [
    "how do I read a file line by line",
    "sort a list of dictionaries by a key",
    "parse command line arguments",
    "what does the with statement do",
    "define a class with properties",
    "raise and catch an exception",
    "format a string with placeholders",
    "create a virtual environment",
    "iterate over a dictionary",
    "difference between a list and a tuple",
    "what is a generator expression",
    "how are default argument values evaluated",
]


def user_env(base: Path, user: str, neo4j: Neo4jServer, milvus: MilvusServerProcess, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    env.update(
        LOCALMIND_INDEXING__DATA_DIR=str(base / f"data-{user}"),
        LOCALMIND_TEAM__USER=f"{user}@bench",
        LOCALMIND_GRAPH__BACKEND="neo4j",
        LOCALMIND_GRAPH__URI=neo4j.uri,
        LOCALMIND_GRAPH__USER=neo4j.user,
        LOCALMIND_GRAPH__PASSWORD=neo4j.password,
        LOCALMIND_VECTORS__BACKEND="milvus",
        LOCALMIND_VECTORS__URI=milvus.uri,
        LOCALMIND_VECTORS__COLLECTION_PREFIX=prefix,
        XDG_CONFIG_HOME=str(base / f"config-{user}"),
    )
    return env


def localmind(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "localmind", *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"localmind {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def index(root: Path, env: dict[str, str]) -> dict[str, Any]:
    began = time.perf_counter()
    report: dict[str, Any] = json.loads(localmind(["index", "--json", str(root)], env, root).strip().splitlines()[-1])
    report["wall_s"] = round(time.perf_counter() - began, 2)
    report["chunks_per_s"] = round(report["chunks_written"] / report["wall_s"], 2)
    return report


def change_files(root: Path, share: float) -> list[str]:
    """Append a paragraph of its own to every (1/share)-th file; return their paths relative to root."""
    files = sorted(root.rglob("*.rst.txt"))
    step = max(1, round(1 / share))
    changed = files[::step]
    for number, path in enumerate(changed):
        path.write_text(
            path.read_text(encoding="utf-8") + f"\n\nTeam note {number}: this copy documents a local change.\n",
            encoding="utf-8",
        )
    return [p.relative_to(root).as_posix() for p in changed]


def answers(root: Path, env: dict[str, str], skip: set[str]) -> dict[str, list[tuple[str, int]]]:
    found = {}
    for question in QUESTIONS:
        hits = json.loads(localmind(["search", question, "--json", "-k", "10"], env, root))
        found[question] = [(h["path"], h["range"]["start"]["line"]) for h in hits if h["path"] not in skip]
    return found


def agreeing(a: dict[str, list[tuple[str, int]]], b: dict[str, list[tuple[str, int]]]) -> bool:
    """Whether both users' answers from unchanged files come in the same order (a changed file ranking
    elsewhere can push one out of the top 10, so the shorter list is compared with the other's start)."""
    return all(a[q][: min(len(a[q]), len(b[q]))] == b[q][: min(len(a[q]), len(b[q]))] for q in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=260)
    parser.add_argument("--changed", type=float, default=0.05)
    args = parser.parse_args()
    with team_servers() as (base, neo4j, milvus):
        results = measure(base, args.files, args.changed, neo4j, milvus)
    results.update(machine=machine(), load_average=os.getloadavg())
    report(results)
    save_results("team_index", results)


def measure(base: Path, files: int, share: float, neo4j: Neo4jServer, milvus: MilvusServerProcess) -> dict[str, Any]:
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    ada_root, grace_root = base / "ada" / "docs", base / "grace" / "work" / "docs"
    workspace_from(python_docs(), ada_root, files)
    shutil.copytree(ada_root, grace_root)
    changed = change_files(grace_root, share)
    ada, grace = user_env(base, "ada", neo4j, milvus, prefix), user_env(base, "grace", neo4j, milvus, prefix)
    first = index(ada_root, ada)
    second = index(grace_root, grace)
    skip = set(changed)
    same = agreeing(answers(ada_root, ada, skip), answers(grace_root, grace, skip))
    return {
        "files": files,
        "changed_files": len(changed),
        "a": first,
        "b": second,
        "b_over_a_wall": round(second["wall_s"] / first["wall_s"], 3),
        "answers_equal_on_unchanged_files": same,
    }


def report(results: dict[str, Any]) -> None:
    a, b = results["a"], results["b"]
    print(
        f"A: {a['chunks_written']} chunks, {a['chunks_embedded']} embedded, {a['wall_s']:.1f} s "
        f"({a['chunks_per_s']:.1f} chunks/s)\n"
        f"B: {b['chunks_written']} chunks, {b['chunks_embedded']} embedded, {b['chunks_from_team']} from the team "
        f"cache ({b['chunks_spot_checked']} spot-checked), {b['wall_s']:.1f} s ({b['chunks_per_s']:.1f} chunks/s)\n"
        f"B / A wall time: {results['b_over_a_wall']:.3f}; {results['changed_files']} of {results['files']} files "
        f"changed; answers equal on unchanged files: {results['answers_equal_on_unchanged_files']}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
