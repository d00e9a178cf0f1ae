"""What the benchmarks share: SciFact, the sentence-transformers worker, the test suite's servers, machine
facts and result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.servers.milvus_server import MilvusServerProcess
    from tests.servers.neo4j_server import Neo4jServer

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
# shared/ sits beside the project root (see shared/README.md); LOCALMIND_SCIFACT overrides it.
SCIFACT_DIR = Path(os.environ.get("LOCALMIND_SCIFACT", BENCH_DIR.parents[1] / "shared" / "data" / "scifact"))
REFERENCE_VENV = Path(os.environ.get("LOCALMIND_BENCH_VENV", Path.home() / ".cache" / "localmind-bench" / "venv"))
REFERENCE_PYTHON = REFERENCE_VENV / "bin" / "python"
ST_WORKER = BENCH_DIR / "st_worker.py"
THREADS = 2


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def scifact_corpus(folder: Path = SCIFACT_DIR) -> list[dict[str, str]]:
    """SciFact's documents in file order, each {"_id", "title", "text"}."""
    return list(read_jsonl(folder / "corpus.jsonl"))


def document_text(doc: dict[str, str]) -> str:
    return f"{doc['title']} {doc['text']}"


def read_texts(path: Path) -> list[str]:
    """A texts file written by write_texts."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_texts(texts: Sequence[str], path: Path) -> Path:
    """A texts file for st_worker.py: one JSON string per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(text) + "\n" for text in texts), encoding="utf-8")
    return path


def st_command(mode: str, *args: str) -> list[str]:
    """The command that runs st_worker.py in the reference venv, refusing to go on without that venv."""
    if not REFERENCE_PYTHON.is_file():
        sys.exit(f"no reference venv at {REFERENCE_VENV}; run bench/reference_env.sh first")
    return [str(REFERENCE_PYTHON), str(ST_WORKER), mode, "--threads", str(THREADS), *args]


class StServer:
    """A long-lived st_worker.py in serve mode: the model loads once and each request times one pass."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            st_command("serve"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.info = self._reply()

    def time_pass(self, texts_path: Path, batch_size: int) -> float:
        """Seconds for one encode() of every text in the file."""
        request = {"texts": str(texts_path), "batch_size": batch_size, "repeat": 1}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        return float(self._reply()["seconds"][0])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)

    def _reply(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"st_worker.py exited with status {self._process.wait()}")
        reply: dict[str, Any] = json.loads(line)
        return reply


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare these numbers with their own."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "onnxruntime": version("onnxruntime"),
        "numpy": version("numpy"),
        "tokenizers": version("tokenizers"),
    }


def save_results(name: str, results: dict[str, Any]) -> Path:
    """Write results as bench/results/<name>-<UTC time>.json and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return path


def percentiles(seconds: list[float]) -> dict[str, float]:
    """Latency percentiles in milliseconds (nearest rank), with the maximum and the mean."""
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.mean(ordered) * 1000,
    }


@contextmanager
def team_servers(milvus_time_tick_ms: int | None = None) -> Iterator[tuple[Path, Neo4jServer, MilvusServerProcess]]:
    """A scratch folder, and the test suite's Neo4j and Milvus servers running (Neo4j's home inside the
    folder); both are stopped, and the folder removed, afterwards. Milvus keeps the tests' short time tick
    unless given another. The caller puts the project root on sys.path (the servers live under tests/)."""
    from tests.servers.milvus_server import DEFAULT_TIME_TICK_MS, MilvusServerProcess
    from tests.servers.neo4j_server import Neo4jServer

    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        neo4j = Neo4jServer(base / "neo4j")
        milvus = MilvusServerProcess(milvus_time_tick_ms or DEFAULT_TIME_TICK_MS)
        neo4j.start()
        try:
            milvus.start()
            try:
                yield base, neo4j, milvus
            finally:
                milvus.stop()
        finally:
            neo4j.stop()
