"""A hostile client for 60 s: does the stdio server stay responsive and its memory flat?

Two phases against one `localmind serve` over stdio on a small workspace (tests/fixtures/workspace), each
`--seconds` long: first a polite client (a workspace/symbol request, wait for its answer, repeat), then a
hostile one that sends, before every such request, each malformed thing the security review found —
Content-Length 99999999999999999999, -5, 5000000000 with a 2-byte body, non-numeric, headers with bare line
feeds, non-object JSON, invalid JSON, a notification with an id, a request before its time. The baseline is
the polite phase of the same run: latency percentiles of the answered requests and the server's RSS
(VmRSS from /proc) in both phases, with their ratios. A request unanswered for 10 s ends the run as a hang.

    .venv/bin/python bench/hostile_client.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any, BinaryIO

from benchlib import machine, percentiles, save_results

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / "tests" / "fixtures" / "workspace"
# The rate limits are not what is measured here: lifted, as in lsp_latency.py.
UNLIMITED = {
    f"LOCALMIND_LIMITS__{name}__{key}": value
    for name in ("SEARCH", "OVERALL")
    for key, value in (("PER_MINUTE", "1000000"), ("BURST", "100000"))
}
HOSTILE = [
    b"Content-Length: 99999999999999999999\r\n\r\n{}",
    b"Content-Length: -5\r\n\r\n{}",
    b"Content-Length: 5000000000\r\n\r\nxx",
    b"Content-Length: twelve\r\n\r\n{}",
    b"garbage without any header\r\n\r\n",
]


def frame(body: bytes, end: bytes = b"\r\n") -> bytes:
    return b"Content-Length: " + str(len(body)).encode() + end + end + body


def message(end: bytes = b"\r\n", **fields: Any) -> bytes:
    return frame(json.dumps({"jsonrpc": "2.0", **fields}).encode(), end)


def hostile_burst(next_id: int) -> bytes:
    """Every malformed thing once, then a few that get error responses (their ids are negative)."""
    answered = [
        frame(b"[1, 2]"),
        frame(b"{not json"),
        message(id=-next_id, method="initialized", params={}),
        message(end=b"\n", id=-next_id - 1, method="workspace/symbol", params={"query": "lf"}),
    ]
    return b"".join(HOSTILE) + b"".join(answered)


class Server:
    """`localmind serve` with a reader thread that puts every message it writes on a queue."""

    def __init__(self, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "localmind", "serve"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self.messages: Queue[dict[str, Any]] = Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream: BinaryIO = self.process.stdout  # type: ignore[assignment]
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                return
            self.messages.put(json.loads(stream.read(length)))

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def answer(self, wanted: int, seconds: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            try:
                received = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except Empty:
                raise SystemExit(f"no answer to request {wanted} within {seconds} s: the server hangs") from None
            if received.get("id") == wanted and "method" not in received:
                return received

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def phase(server: Server, seconds: float, hostile: bool, first_id: int) -> dict[str, Any]:
    latencies: list[float] = []
    rss: list[float] = []
    request = first_id
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if hostile:
            server.send(hostile_burst(request * 10))
        began = time.perf_counter()
        server.send(message(id=request, method="workspace/symbol", params={"query": "config"}))
        answer = server.answer(request)
        assert "result" in answer, f"a valid request failed: {answer}"
        latencies.append(time.perf_counter() - began)
        if request % 20 == 0:
            rss.append(server.rss_mib())
        request += 1
    return {"requests": len(latencies), "ms": percentiles(latencies), "rss_mib_first": rss[0], "rss_mib_last": rss[-1]}


def run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        shutil.copytree(WORKSPACE, root)
        env = {**os.environ, "LOCALMIND_INDEXING__DATA_DIR": str(Path(scratch) / "data"), **UNLIMITED}
        server = Server(env)
        try:
            server.send(message(id=1, method="initialize", params={"capabilities": {}, "rootUri": root.as_uri()}))
            server.answer(1, seconds=60)
            server.send(message(method="initialized", params={}))
            time.sleep(5)  # Let the first index of the small workspace start before measuring.
            polite = phase(server, seconds, hostile=False, first_id=100)
            hostile = phase(server, seconds, hostile=True, first_id=100_000)
            alive = server.process.poll() is None
        finally:
            server.process.kill()
            server.process.wait()
    return {"polite": polite, "hostile": hostile, "server_alive": alive}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    results = {"machine": machine(), **run(args.seconds)}
    polite, hostile = results["polite"], results["hostile"]
    for name in ("p50_ms", "p99_ms"):
        results[f"latency_ratio_{name.removesuffix('_ms')}"] = round(hostile["ms"][name] / polite["ms"][name], 2)
    results["rss_growth_mib_hostile"] = round(hostile["rss_mib_last"] - hostile["rss_mib_first"], 1)
    print(json.dumps(results, indent=2))
    print(f"wrote {save_results('hostile_client', results)}", file=sys.stderr)


if __name__ == "__main__":
    main()
