"""The metrics endpoint: opt-in, loopback only, serving the module's own registry."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Iterator

import pytest

from localmind.errors import ConfigError
from localmind.observability import metrics


def scrape(server: metrics.MetricsServer) -> str:
    with urllib.request.urlopen(server.url, timeout=5) as response:
        assert response.status == 200
        return str(response.read().decode())


def value(text: str, sample: str) -> float:
    """The value of one sample line (name with labels), e.g. 'localmind_breaker_state{...}'."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} is not in the scrape")


@pytest.fixture()
def endpoint() -> Iterator[metrics.MetricsServer]:
    server = metrics.serve_metrics(0)
    yield server
    server.close()


def test_the_endpoint_serves_every_metric(endpoint: metrics.MetricsServer) -> None:
    metrics.breaker_state("neo4j", "open")
    metrics.backend_call("milvus", "search", 0.02, None)
    metrics.backend_call("milvus", "search", 1.5, "TimeoutError")
    metrics.RATE_LIMITED.labels("chat").inc()
    metrics.INDEX_QUEUE_DEPTH.set(1)
    metrics.CHUNKS_INDEXED.inc(5)
    with metrics.request_timer("textDocument/hover"):
        pass
    with pytest.raises(asyncio.CancelledError), metrics.request_timer("workspace/executeCommand"):
        raise asyncio.CancelledError
    text = scrape(endpoint)
    assert value(text, 'localmind_breaker_state{backend="neo4j",state="open"}') == 1
    assert value(text, 'localmind_breaker_state{backend="neo4j",state="closed"}') == 0
    assert value(text, 'localmind_breaker_transitions_total{backend="neo4j",state="open"}') >= 1
    assert value(text, 'localmind_backend_call_seconds_count{backend="milvus",operation="search"}') >= 2
    assert value(text, 'localmind_backend_errors_total{backend="milvus",kind="TimeoutError",operation="search"}') >= 1
    assert value(text, 'localmind_rate_limited_total{method_class="chat"}') >= 1
    assert value(text, "localmind_index_queue_depth") == 1
    assert value(text, "localmind_chunks_indexed_total") >= 5
    assert value(text, 'localmind_request_seconds_count{method="textDocument/hover",outcome="ok"}') >= 1
    assert value(text, 'localmind_request_seconds_count{method="workspace/executeCommand",outcome="cancelled"}') >= 1
    assert "localmind_process_resident_memory_bytes" in text


def test_the_endpoint_listens_on_loopback_only(endpoint: metrics.MetricsServer) -> None:
    assert endpoint.host == "127.0.0.1" and endpoint.url == f"http://127.0.0.1:{endpoint.port}/metrics"
    address = endpoint._server.server_address  # type: ignore[attr-defined]
    assert address[0] == "127.0.0.1"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_a_host_beyond_the_machine_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        metrics.serve_metrics(0, host=host)


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"observability\.metrics_port.*{port}.*--metrics-port"):
            metrics.serve_metrics(port)


def test_close_stops_the_endpoint_and_is_idempotent() -> None:
    server = metrics.serve_metrics(0)
    scrape(server)
    server.close()
    server.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)
