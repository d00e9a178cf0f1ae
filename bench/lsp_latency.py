"""Responsiveness of the language server: hover and workspace/symbol latency, idle and during a re-index.

The workspace is made of real files, about 10k chunks: Markdown notes of SciFact abstracts (several documents
per note, each under its title as a heading) and copies of tests/fixtures/coderepo (a frozen copy of Local
Mind's own code and notes, so the workspace does not change with the working tree). It lives in a persistent
scratch folder, so a second run finds its store and the store's embedding cache. The server is a real
`python -m localmind serve` over stdio, driven by pytest-lsp's client; latency is measured on the client,
from sending a request to having its decoded answer, one request at a time.

1. Initial index: the run waits for the first indexing run's work-done progress `end`.
2. Idle: N hovers (symbol names in the code, words of the notes) and N workspace/symbol queries (symbol
   names or prefixes, and SciFact claims), interleaved, back to back.
3. During a re-index: every file changes (a Markdown file's first heading gets a new revision mark, so every
   chunk of it must be embedded again; a code file gets a new last line), `localmind.reindex` starts a run,
   and the same requests are sent while it goes on. A sample counts only when its answer came before that
   run's `end`. Pairs of requests are paced (--think-ms between them, as a user pauses between hovers), so
   the samples spread over the run: the code files come first in the scan, the notes (most of the
   embedding) after them. When the run ends too soon, the files change again and another run starts; when
   enough samples are in, the run is cancelled through work-done progress (its remaining work is not
   measured).

Each sample records whether the store's generation moved since the previous request (read from the store,
read-only, before the request is sent, outside the timed span): the server reloads its vector matrix and
its name index after a change, so the re-index latencies are also given split by that. The server's RSS
(VmRSS, VmHWM from /proc) is read after the initial index and polled during the re-index.

    .venv/bin/python bench/lsp_latency.py [--quick] [--requests N] [--think-ms MS] [--fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from benchlib import SCIFACT_DIR, machine, percentiles, read_jsonl, save_results, scifact_corpus
from localmind.config import EmbeddingsSettings
from localmind.indexing.terms import STOPWORDS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # The test helpers start the server the way the end-to-end tests do.
from tests.lsp.helpers import index_ends, server_env, start_client  # noqa: E402

SCRATCH = Path.home() / ".cache" / "localmind-bench" / "lsp-latency"
DOCS_PER_NOTE = 5
INDEX_TIMEOUT_S = 3600
# The bench measures latency back to back, faster than an editor would ask: rate limits (resilience
# issue) are lifted so every request is answered.
UNLIMITED = {"limits": {name: {"per_minute": 1_000_000, "burst": 100_000} for name in ("hover", "search", "overall")}}
REQUEST_TIMEOUT_S = 60
WARM_UP = 5
TARGETS_MS = {"hover": {"idle": 50.0, "reindex": 150.0}}
_DEFINITION = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")


@dataclass(frozen=True)
class Spec:
    """What the workspace holds: SciFact documents and copies of the code fixture."""

    name: str
    docs: int
    copies: int


CODE_FIXTURE = REPO / "tests" / "fixtures" / "coderepo"
FULL = Spec("full", docs=3300, copies=4)
QUICK = Spec("quick", docs=150, copies=1)


# Workspace -------------------------------------------------------------------------------------------


def note_text(number: int, docs: list[dict[str, str]]) -> str:
    """A note: a first heading (where a revision mark goes), then one section per document."""
    sections = "".join(f"## {doc['title'].strip()}\n\n{doc['text'].strip()}\n\n" for doc in docs)
    return f"# SciFact notes {number:04d}\n\n{sections}"


def base_files(spec: Spec) -> dict[str, str]:
    """Every file of the workspace by relative path, as it is before any revision."""
    corpus = scifact_corpus()[: spec.docs]
    files = {
        f"notes/scifact-{n:04d}.md": note_text(n, corpus[start : start + DOCS_PER_NOTE])
        for n, start in enumerate(range(0, len(corpus), DOCS_PER_NOTE))
    }
    for copy in range(1, spec.copies + 1):
        for path in sorted(p for p in CODE_FIXTURE.rglob("*") if p.is_file()):
            rel = path.relative_to(CODE_FIXTURE).as_posix()
            files[f"code/copy{copy}/{rel}"] = path.read_text(encoding="utf-8")
    return files


def revised(rel_path: str, text: str, mark: str) -> str:
    """The file with a revision mark: in a Markdown file's first heading (every chunk's embedding text holds
    the title), or as a new last line of code (only the last chunk changes there)."""
    if rel_path.endswith(".md"):
        first, rest = text.split("\n", 1)
        return f"{first} ({mark})\n{rest}"
    return f"{text}# {mark}\n"


def write_workspace(root: Path, files: dict[str, str]) -> None:
    """Make the folder hold exactly these files, rewriting only those whose text differs."""
    for rel_path, text in files.items():
        path = root / rel_path
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in sorted(root.rglob("*"), reverse=True):
        rel_path = path.relative_to(root).as_posix()
        if path.is_file() and rel_path not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


# Requests --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoverTarget:
    rel_path: str
    line: int
    character: int  # In UTF-16 code units, as the client counts them; one character inside the word.
    word: str
    kind: str  # Either "symbol" (a defined name in code) or "word" (a word of a note).


def utf16_column(line: str, column: int) -> int:
    return len(line[:column].encode("utf-16-le")) // 2


def defined_names(files: dict[str, str]) -> list[str]:
    names = {m.group(1) for rel, text in files.items() if rel.endswith(".py") for m in _DEFINITION.finditer(text)}
    return sorted(name for name in names if len(name) >= 3 and not name.startswith("__"))


def pick_target(rng: random.Random, rel_path: str, text: str, kind: str, names: set[str]) -> HoverTarget | None:
    """A random occurrence in the file of a defined name (code) or of a word that is not a stop word (notes)."""
    pattern = _IDENTIFIER if kind == "symbol" else _WORD
    found = [
        (number, match)
        for number, line in enumerate(text.split("\n"))
        if not (kind == "word" and line.startswith("#"))
        for match in pattern.finditer(line)
        if (match.group() in names if kind == "symbol" else match.group().lower() not in STOPWORDS)
    ]
    if not found:
        return None
    number, match = rng.choice(found)
    line = text.split("\n")[number]
    return HoverTarget(rel_path, number, utf16_column(line, match.start() + 1), match.group(), kind)


def hover_targets(files: dict[str, str], rng: random.Random, count: int) -> list[HoverTarget]:
    """Half on defined names in the code, half on words of the notes, in random files, interleaved."""
    names = set(defined_names(files))
    by_kind = {"symbol": [r for r in files if r.endswith(".py")], "word": [r for r in files if r.endswith(".md")]}
    targets: list[HoverTarget] = []
    while len(targets) < count:
        kind = ("symbol", "word")[len(targets) % 2]
        rel_path = rng.choice(by_kind[kind])
        target = pick_target(rng, rel_path, files[rel_path], kind, names)
        if target is not None:
            targets.append(target)
    return targets


def symbol_queries(files: dict[str, str], rng: random.Random, count: int) -> list[str]:
    """Half symbol names (whole, or the first 4-6 characters as typed so far), half SciFact claims."""
    names = defined_names(files)
    claims = [query["text"] for query in read_jsonl(SCIFACT_DIR / "queries.train.jsonl")]
    queries = []
    for n in range(count):
        if n % 2:
            queries.append(rng.choice(claims))
        else:
            name = rng.choice(names)
            queries.append(name if n % 4 == 0 else name[: rng.randint(4, 6)])
    return queries


async def timed(request: Awaitable[Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    answer = await asyncio.wait_for(request, REQUEST_TIMEOUT_S)
    return time.perf_counter() - began, answer


async def hover(client: LanguageClient, root: Path, target: HoverTarget) -> tuple[float, bool]:
    """Seconds for one hover, and whether it showed a card."""
    params = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=(root / target.rel_path).as_uri()),
        position=types.Position(line=target.line, character=target.character),
    )
    seconds, answer = await timed(client.text_document_hover_async(params))
    return seconds, answer is not None


async def workspace_symbol(client: LanguageClient, query: str) -> tuple[float, bool]:
    """Seconds for one workspace/symbol request, and whether it found anything."""
    seconds, answer = await timed(client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query)))
    return seconds, bool(answer)


async def command(client: LanguageClient, name: str) -> Any:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command=name, arguments=[]))


# Measuring -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str  # Either "hover" or "symbol".
    seconds: float
    answered: bool  # True when the answer was not empty.
    store_changed: bool  # True when the store's generation moved since the previous request.
    embedding: bool = False  # True when the run's last progress report before the request was phase 2's.


@dataclass
class Samples:
    """Samples by request kind."""

    by_kind: dict[str, list[Sample]] = field(default_factory=lambda: {"hover": [], "symbol": []})

    def add(self, samples: list[Sample]) -> None:
        for sample in samples:
            self.by_kind[sample.kind].append(sample)

    def count(self) -> int:
        return min(len(values) for values in self.by_kind.values())

    def summary(self) -> dict[str, Any]:
        return {kind: summarize(values) for kind, values in self.by_kind.items()}


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Percentiles of all samples, then split by whether they found the store changed, and by the indexing
    phase they were sent in (phase 1: files parsed and written; phase 2: chunks embedded)."""
    groups = {
        "store_changed": [s.seconds for s in samples if s.store_changed],
        "store_unchanged": [s.seconds for s in samples if not s.store_changed],
        "phase_1": [s.seconds for s in samples if not s.embedding],
        "phase_2": [s.seconds for s in samples if s.embedding],
    }
    return {
        **percentiles([s.seconds for s in samples]),
        "n": len(samples),
        "non_empty": sum(s.answered for s in samples),
        **{name: {"n": len(values), **(percentiles(values) if values else {})} for name, values in groups.items()},
    }


class StoreGeneration:
    """The store's generation counter, read through a read-only connection of the bench's own."""

    def __init__(self, store: Path) -> None:
        self._db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        self.seen = self()

    def __call__(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    def moved(self) -> bool:
        """Whether the generation moved since the last call (the first call compares with the opening)."""
        now = self()
        moved, self.seen = now != self.seen, now
        return moved


@dataclass
class Workload:
    client: LanguageClient
    root: Path
    targets: list[HoverTarget]
    queries: list[str]
    generation: StoreGeneration
    sent: int = 0
    run_token: Any = None  # The progress token of the indexing run being sampled, if any.

    def embedding(self) -> bool:
        """Whether the sampled run's last progress report is phase 2's ("…; embedding n/m chunks…")."""
        if self.run_token is None:
            return False
        report = last_report(self.client, self.run_token)
        return report is not None and "embedding" in report

    async def pair(self) -> list[Sample]:
        """One hover and one workspace/symbol request, the next of each list (round robin)."""
        target = self.targets[self.sent % len(self.targets)]
        query = self.queries[self.sent % len(self.queries)]
        self.sent += 1
        changed, embedding = self.generation.moved(), self.embedding()
        hovered = Sample("hover", *await hover(self.client, self.root, target), changed, embedding)
        changed, embedding = self.generation.moved(), self.embedding()
        return [hovered, Sample("symbol", *await workspace_symbol(self.client, query), changed, embedding)]


async def measure_idle(work: Workload, count: int) -> Samples:
    samples = Samples()
    while samples.count() < count:
        samples.add(await work.pair())
    return samples


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def children_rss(pid: int) -> float:
    """The VmRSS of a process's children (the language server's file-parsing worker), in MiB."""
    children = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.update((task / "children").read_text().split())
    return sum(proc_status(int(child))["VmRSS"] for child in children)


class RssPoller:
    """Polls a process's VmRSS in the background and keeps the largest value seen."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        self.pid, self.every_s, self.peak_mib = pid, every_s, 0.0
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        while True:
            self.peak_mib = max(self.peak_mib, proc_status(self.pid)["VmRSS"])
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def progress_tokens(client: LanguageClient) -> list[Any]:
    return list(client.progress_reports)


def ended(client: LanguageClient, token: Any) -> types.WorkDoneProgressEnd | None:
    return next((r for r in client.progress_reports[token] if isinstance(r, types.WorkDoneProgressEnd)), None)


def last_report(client: LanguageClient, token: Any) -> str | None:
    reports = [r for r in client.progress_reports[token] if isinstance(r, types.WorkDoneProgressReport)]
    return f"{reports[-1].percentage} %: {reports[-1].message}" if reports else None


async def wait_until(predicate: Callable[[], Any], timeout: float) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := predicate()):
            await asyncio.sleep(0.02)
        return found


async def start_run(client: LanguageClient, root: Path, files: dict[str, str], mark: str) -> Any:
    """Revise every file, ask for a re-index, and return the new run's progress token once it has begun."""
    write_workspace(root, {rel: revised(rel, text, mark) for rel, text in files.items()})
    known = set(progress_tokens(client))
    await command(client, "localmind.reindex")

    def begun() -> Any:
        return next((t for t in progress_tokens(client) if t not in known and client.progress_reports[t]), None)

    return await wait_until(begun, 60)


async def collect_until_end(work: Workload, token: Any, samples: Samples, count: int, think_s: float) -> int:
    """Send paced pairs while the run goes on; keep a pair only when both answers came before its `end`.
    Returns the number of pairs dropped because the run ended while they were in flight."""
    while samples.count() < count and not ended(work.client, token):
        pair = await work.pair()
        if ended(work.client, token):
            return 1
        samples.add(pair)
        await asyncio.sleep(think_s)
    return 0


async def sample_run(work: Workload, token: Any, samples: Samples, count: int, think_s: float) -> dict[str, Any]:
    """Samples for one run; then the run is cancelled, unless it has ended already, and its `end` awaited."""
    client, began, first = work.client, time.perf_counter(), last_report(work.client, token)
    work.run_token = token
    dropped = await collect_until_end(work, token, samples, count, think_s)
    work.run_token = None
    sampled_s, progress = time.perf_counter() - began, last_report(client, token)
    cancelled = not ended(client, token)
    if cancelled:
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    end = await wait_until(lambda: ended(client, token), INDEX_TIMEOUT_S)
    return {
        "sampled_s": round(sampled_s, 1),
        "progress_when_sampling_started": first,
        "progress_when_sampling_stopped": progress,
        "cancelled_by_bench": cancelled,
        "pairs_dropped_at_end": dropped,
        "end_message": end.message,
    }


async def measure_reindex(
    work: Workload, files: dict[str, str], count: int, think_s: float
) -> tuple[Samples, list[dict[str, Any]]]:
    samples, runs, stamp = Samples(), [], time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    while samples.count() < count:
        token = await start_run(work.client, work.root, files, f"revision {stamp}-{len(runs)}")
        runs.append(await sample_run(work, token, samples, count, think_s))
        print(f"re-index run {len(runs)}: {runs[-1]}", file=sys.stderr)
    return samples, runs


# Session ---------------------------------------------------------------------------------------------


def isolated_env(folder: Path) -> dict[str, str]:
    """The server's environment: the user's built models, and a store and settings of the bench's own."""
    model_cache = EmbeddingsSettings().resolved_cache_dir()
    return server_env(model_cache, folder / "data", folder / "config")


async def initial_index(client: LanguageClient) -> dict[str, Any]:
    began = time.perf_counter()
    await wait_until(lambda: index_ends(client), INDEX_TIMEOUT_S)
    seconds = time.perf_counter() - began
    status = await command(client, "localmind.status")
    return {"seconds": round(seconds, 1), "report": status["indexing"]["last_report"], "index": status["index"]}


async def warm_up(work: Workload) -> list[list[float]]:
    """The first requests load the searcher and its vectors: timed, but kept apart from the samples."""
    return [[round(sample.seconds * 1000, 1) for sample in await work.pair()] for _ in range(WARM_UP)]


async def session(spec: Spec, count: int, think_s: float) -> dict[str, Any]:
    folder = SCRATCH / spec.name
    root, files = (folder / "workspace").resolve(), base_files(spec)
    write_workspace(root, files)
    client = await start_client(root, isolated_env(folder), options=UNLIMITED)
    try:
        return {"files": len(files), "docs": spec.docs, **await measure_all(client, root, files, count, think_s)}
    finally:
        await client.shutdown_session()
        write_workspace(root, files)


async def measure_all(
    client: LanguageClient, root: Path, files: dict[str, str], count: int, think_s: float
) -> dict[str, Any]:
    pid = client._server.pid  # type: ignore[union-attr]
    load = {"start": os.getloadavg()}
    results: dict[str, Any] = {"load_average": load, "initial_index": await initial_index(client)}
    rng, store = random.Random(20261126), StoreGeneration(Path(results["initial_index"]["index"]["store"]))
    work = Workload(client, root, hover_targets(files, rng, count), symbol_queries(files, rng, count), store)
    results["rss_mib"] = {"after_initial_index": proc_status(pid)}
    results["warm_up_ms"] = await warm_up(work)
    load["idle"] = os.getloadavg()
    results["idle"] = (await measure_idle(work, count)).summary()
    results["rss_mib"]["after_idle"] = proc_status(pid)
    load["reindex"] = os.getloadavg()
    results.update(await reindex_phase(work, files, count, think_s, pid))
    load["end"] = os.getloadavg()
    return results


async def reindex_phase(work: Workload, files: dict[str, str], count: int, think_s: float, pid: int) -> dict[str, Any]:
    poller = RssPoller(pid)
    poller.start()
    try:
        samples, runs = await measure_reindex(work, files, count, think_s)
    finally:
        poller.stop()
    rss = {"peak_rss_polled": poller.peak_mib, **proc_status(pid), "children_VmRSS": children_rss(pid)}
    return {"reindex": {**samples.summary(), "runs": runs}, "rss_mib_reindex": rss}


# Report ----------------------------------------------------------------------------------------------


def row(phase: str, label: str, p: dict[str, Any], verdict: str = "") -> str:
    if not p["n"]:
        return f"{phase:<8} {label:<24} {0:>4}"
    cells = " ".join(f"{p[k]:6.1f}ms" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
    return f"{phase:<8} {label:<24} {p['n']:>4} {cells}  {verdict}"


def print_table(results: dict[str, Any]) -> None:
    index = results["initial_index"]
    print(f"\nchunks {index['index']['chunks']}, files {index['index']['files']}", file=sys.stderr)
    print(f"{'phase':<8} {'request':<24} {'n':>4} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  target", file=sys.stderr)
    for phase in ("idle", "reindex"):
        for kind, label in (("hover", "hover"), ("symbol", "workspace/symbol")):
            p = results[phase][kind]
            target = TARGETS_MS.get(kind, {}).get(phase)
            verdict = f"p99 <= {target:.0f} ms {'met' if p['p99_ms'] <= target else 'MISSED'}" if target else ""
            print(row(phase, label, p, verdict), file=sys.stderr)
            if phase == "reindex":
                print(row("", "  after a store change", p["store_changed"]), file=sys.stderr)
                print(row("", "  store unchanged", p["store_unchanged"]), file=sys.stderr)
                print(row("", "  in phase 1 (files)", p["phase_1"]), file=sys.stderr)
                print(row("", "  in phase 2 (embedding)", p["phase_2"]), file=sys.stderr)
    rss, peak = results["rss_mib"]["after_initial_index"], results["rss_mib_reindex"]
    print(
        f"RSS after the initial index {rss['VmRSS']:.0f} MiB (HWM {rss['VmHWM']:.0f}); during the re-index "
        f"peak {peak['peak_rss_polled']:.0f} MiB (HWM {peak['VmHWM']:.0f}); its child processes after the "
        f"re-index {peak.get('children_VmRSS', 0):.0f} MiB",
        file=sys.stderr,
    )
    print(f"load average {results['load_average']}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small workspace and 40 requests of each kind")
    parser.add_argument("--requests", type=int, help="requests of each kind per phase (default 300, quick 40)")
    parser.add_argument("--think-ms", type=float, default=250, help="pause between request pairs in the re-index")
    parser.add_argument("--fresh", action="store_true", help="delete the scratch store first (a cold index)")
    args = parser.parse_args()
    spec = QUICK if args.quick else FULL
    count = args.requests or (40 if args.quick else 300)
    if args.fresh:
        shutil.rmtree(SCRATCH / spec.name / "data", ignore_errors=True)
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "mode": spec.name, "requests": count, "think_ms": args.think_ms}
    results.update(asyncio.run(session(spec, count, args.think_ms / 1000)))
    results["wall_s"] = round(time.perf_counter() - began, 1)
    print_table(results)
    print(json.dumps(results, indent=2))
    save_results("lsp_latency" + ("-quick" if args.quick else ""), results)


if __name__ == "__main__":
    main()
