"""Embedded store against Neo4j + Milvus server, side by side on the same corpus, in one run.

The corpus is the first N SciFact documents, one Markdown note each. Both configurations index it
from scratch (embedding included, so the difference is what the backends cost), then answer the same
SciFact claims with all three signals fused. The servers are the ones the test suite uses: Neo4j 5.26
embedded in the project's Java launcher, and the Milvus 2.3 standalone server from PyPI. Their RSS
(the whole process group) is read from /proc after indexing.

A third configuration indexes with Neo4j stopped (the servers configuration during an outage: every
graph write fails and waits in the outbox). Each configuration embeds everything: each has a Milvus
collection prefix of its own, so the team embedding cache starts empty.

`--split-cores` gives the servers a core of their own, as team servers on another machine would have: the
bench (indexer, embedder and every thread they start) runs on CPU 0 in all three configurations, with one
embedding thread (ONNX Runtime would otherwise place a thread on every core whatever the process's affinity),
and every thread of the servers' process groups on CPU 1. Without it, all share every core, and the servers' own work
is taken from the embedder. `--warm-servers` first indexes 200 other SciFact documents into the servers (not
timed), as long-running team servers have compiled their queries and warmed their JVM.

Milvus runs with its own default time tick (200 ms), as a team's server would; the test suite shortens it to
20 ms so that its Strong reads return sooner, which costs the server about 8 % of a core while idle instead of
2.5 % (measured here). Indexing reads nothing with Strong consistency. `--milvus-time-tick-ms 20` runs the
bench against the tests' setting.

`--rounds N` indexes each configuration N times, the embedded store and the servers alternately, each run in
a workspace and collection of its own; the fastest run of each stands for it, and the medians are reported
too. This machine has slow stretches of minutes in which a core does about two thirds of its usual work, so
one run of each can compare a fast run with a slow one.

    .venv/bin/python bench/backends_speed.py [--docs 600] [--queries 200] [--split-cores] [--warm-servers]
                                             [--milvus-time-tick-ms 200] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import SCIFACT_DIR, machine, percentiles, read_jsonl, save_results, scifact_corpus, team_servers
from localmind.config import Settings, load_settings
from localmind.retrieval import parse_query
from localmind.wiring import Components
from tests.servers.milvus_server import MilvusServerProcess
from tests.servers.neo4j_server import Neo4jServer

MILVUS_DEFAULT_TIME_TICK_MS = 200  # Milvus's own default for proxy.timeTickInterval.
CONFIGURATIONS = ("embedded", "servers", "neo4j_down")


def write_corpus(root: Path, docs: int) -> None:
    root.mkdir(parents=True)
    for doc in scifact_corpus()[:docs]:
        (root / f"{doc['_id']}.md").write_text(f"# {doc['title']}\n\n{doc['text']}\n", encoding="utf-8")


def run(settings: Settings, root: Path, claims: list[str]) -> dict[str, Any]:
    """Index root from scratch and time the searches, with the backends the settings select."""
    last_progress = [0.0]

    def progress(_event: Any) -> None:
        last_progress[0] = time.perf_counter()

    with Components.for_roots([root], settings) as components:
        cpu_before = os.times()
        began = time.perf_counter()
        indexer = components.indexer(progress)
        opened = time.perf_counter()
        report = indexer.run()
        seconds = time.perf_counter() - began
        cpu_after = os.times()
        readers = components.open_readers()
        readers.searcher.search(parse_query(query="warm up"))
        samples = []
        for claim in claims:
            start = time.perf_counter()
            readers.searcher.search(parse_query(query=claim))
            samples.append(time.perf_counter() - start)
        readers.close()
    failed = indexer.last_drain.failed if indexer.last_drain else {}
    return {
        "chunks": report.chunks_written,
        "index_s": round(seconds, 2),
        "chunks_per_s": round(report.chunks_written / seconds, 2),
        "embed_s": round(report.embed_seconds, 2),
        # Opening the backends (connections, schema, a new collection), and the wait after the last progress
        # report of the run for the replication thread to drain what was left.
        "open_s": round(opened - began, 2),
        "tail_s": round(began + seconds - last_progress[0], 2),
        # The CPU the indexing process itself used (embedder, indexer and replication threads).
        "client_cpu_s": round(cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system, 2),
        "backend_failures": failed,
        "search": percentiles(samples),
    }


def group_cpu_s(pid: int | None) -> float:
    """CPU seconds a process group has used so far (user + system, every process of the group)."""
    if pid is None:
        return 0.0
    listing = subprocess.run(["ps", "-o", "times=", "-g", str(os.getpgid(pid))], capture_output=True, text=True)
    return float(sum(int(v) for v in listing.stdout.split()))


def group_rss_mib(pid: int) -> float:
    """Resident memory of a process group (the server and every helper process it started)."""
    pgid = os.getpgid(pid)
    listing = subprocess.run(["ps", "-o", "rss=", "-g", str(pgid)], capture_output=True, text=True, check=False)
    return round(sum(int(v) for v in listing.stdout.split()) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--split-cores", action="store_true", help="the bench (one embedding thread) on CPU 0, the servers on CPU 1"
    )
    parser.add_argument("--warm-servers", action="store_true", help="index 200 other documents into the servers first")
    parser.add_argument("--milvus-time-tick-ms", type=int, default=MILVUS_DEFAULT_TIME_TICK_MS)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each configuration; the fastest stands")
    args = parser.parse_args()
    claims = [q["text"] for q in read_jsonl(SCIFACT_DIR / "queries.train.jsonl")][: args.queries]
    if args.split_cores:
        os.sched_setaffinity(0, {0})  # This thread; the threads and processes it starts later inherit it.
    with team_servers(args.milvus_time_tick_ms) as (base, neo4j, milvus):
        if args.split_cores:
            pin_groups([neo4j._process.pid if neo4j._process else None, milvus._runner.pid if milvus._runner else None])
        if args.warm_servers:
            warm_up(base, args.docs, neo4j, milvus)
        results = compare(base, args.docs, claims, neo4j, milvus, args.split_cores, args.rounds)
    results.update(machine=machine(), docs=args.docs, queries=len(claims), load_average=os.getloadavg())
    results["split_cores"], results["warm_servers"] = args.split_cores, args.warm_servers
    results["milvus_time_tick_ms"], results["rounds"] = args.milvus_time_tick_ms, args.rounds
    print_table(results)
    save_results("backends_speed", results)


def pin_groups(pids: list[int | None], cpu: int = 1) -> None:
    """Every thread of every process in these process groups on one CPU (threads they start later inherit it)."""
    groups = {os.getpgid(pid) for pid in pids if pid is not None}
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            if os.getpgid(int(process.name)) not in groups:
                continue
            for thread in (process / "task").iterdir():
                os.sched_setaffinity(int(thread.name), {cpu})
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue


def warm_up(base: Path, docs: int, neo4j: Neo4jServer, milvus: MilvusServerProcess) -> None:
    """Index 200 SciFact documents after the measured ones into the servers, in a workspace of its own."""
    root = base / "corpus-warm-up"
    root.mkdir()
    for doc in scifact_corpus()[docs : docs + 200]:
        (root / f"{doc['_id']}.md").write_text(f"# {doc['title']}\n\n{doc['text']}\n", encoding="utf-8")
    overrides: dict[str, Any] = {
        "indexing": {"data_dir": str(base / "data-warm-up")},
        "graph": {"backend": "neo4j", "uri": neo4j.uri, "user": neo4j.user, "password": neo4j.password},
        "vectors": {"backend": "milvus", "uri": milvus.uri, "collection_prefix": "bench_warm_up"},
    }
    run(load_settings(overrides=overrides), root, ["warm up"])


def compare(
    base: Path,
    docs: int,
    claims: list[str],
    neo4j: Neo4jServer,
    milvus: MilvusServerProcess,
    split_cores: bool,
    rounds: int = 1,
) -> dict[str, Any]:
    """Each configuration indexed `rounds` times: the embedded store and the servers alternately, then (with
    Neo4j stopped) the outage. Each configuration's fastest run stands for it, and the ratios compare the
    fastest runs (and, separately, the medians): this machine has slow stretches of minutes in which a core
    does two thirds of its usual work, and alternating runs lets each configuration meet both kinds."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGURATIONS}
    order = [name for _ in range(rounds) for name in ("embedded", "servers")] + ["neo4j_down"] * rounds
    for index, name in enumerate(order):
        if name == "neo4j_down" and neo4j.running:
            neo4j.stop()
        runs[name].append(measure(base, f"{name}-{index}", docs, claims, neo4j, milvus, split_cores, name))
    results: dict[str, Any] = {name: max(runs[name], key=lambda r: r["chunks_per_s"]) for name in CONFIGURATIONS}
    results["runs_chunks_per_s"] = {name: [r["chunks_per_s"] for r in runs[name]] for name in CONFIGURATIONS}
    medians = {name: statistics.median(results["runs_chunks_per_s"][name]) for name in CONFIGURATIONS}
    for name in ("servers", "neo4j_down"):
        results[f"{name}_over_embedded"] = round(results[name]["chunks_per_s"] / results["embedded"]["chunks_per_s"], 3)
        results[f"{name}_over_embedded_median"] = round(medians[name] / medians["embedded"], 3)
    assert milvus._runner is not None
    results["server_rss_mib"] = {"milvus": group_rss_mib(milvus._runner.pid)}
    return results


def measure(
    base: Path,
    label: str,
    docs: int,
    claims: list[str],
    neo4j: Neo4jServer,
    milvus: MilvusServerProcess,
    split_cores: bool,
    name: str,
) -> dict[str, Any]:
    """One configuration's run, in a folder, data folder and collection prefix of its own (nothing shared)."""
    root = base / f"corpus-{label}"
    write_corpus(root, docs)
    overrides: dict[str, Any] = {"indexing": {"data_dir": str(base / f"data-{label}")}}
    if split_cores:  # ONNX Runtime places one thread per core whatever this process's affinity: one thread.
        overrides["embeddings"] = {"intra_op_threads": 1}
    if name != "embedded":
        overrides["graph"] = {"backend": "neo4j", "uri": neo4j.uri, "user": neo4j.user, "password": neo4j.password}
        prefix = "bench_" + label.replace("-", "_")
        overrides["vectors"] = {"backend": "milvus", "uri": milvus.uri, "collection_prefix": prefix}
    pids = {
        "neo4j": neo4j._process.pid if neo4j._process else None,
        "milvus": milvus._runner.pid if milvus._runner else None,
    }
    before = {server: group_cpu_s(pid) for server, pid in pids.items()}
    result = run(load_settings(overrides=overrides), root, claims)
    # The servers share this machine's cores with the embedder: what they used is time the embedder lost.
    result["server_cpu_s"] = {server: group_cpu_s(pid) - before[server] for server, pid in pids.items()}
    print(f"{label}: {result['chunks_per_s']:.1f} chunks/s", file=sys.stderr)
    return result


def print_table(results: dict[str, Any]) -> None:
    for name in CONFIGURATIONS:
        r, s = results[name], results[name]["search"]
        print(
            f"{name:<9} {r['chunks']} chunks indexed in {r['index_s']:.1f} s ({r['chunks_per_s']:.1f} chunks/s; "
            f"opening the backends {r['open_s']:.1f} s, draining after the last progress {r['tail_s']:.1f} s; "
            f"its own CPU {r['client_cpu_s']:.1f} s); "
            f"search p50 {s['p50_ms']:.1f} ms p99 {s['p99_ms']:.1f} ms",
            file=sys.stderr,
        )
    for name in ("servers", "neo4j_down"):
        print(
            f"{name}: server CPU seconds during the run (indexing and searches): {results[name]['server_cpu_s']}",
            file=sys.stderr,
        )
    print(f"every run's chunks/s: {results['runs_chunks_per_s']}", file=sys.stderr)
    print(
        f"chunks/s against the embedded store, fastest runs: servers {results['servers_over_embedded']:.3f}, "
        f"Neo4j down {results['neo4j_down_over_embedded']:.3f}; medians: servers "
        f"{results['servers_over_embedded_median']:.3f}, Neo4j down {results['neo4j_down_over_embedded_median']:.3f}; "
        f"server RSS: {results['server_rss_mib']}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
