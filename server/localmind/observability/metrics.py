"""Prometheus metrics of one Local Mind process, in a registry of its own (never the global one, so
tests and embedders of the package do not collide), served on an opt-in HTTP endpoint bound to the
loopback interface (`serve_metrics`, `--metrics-port`). docs/observability.md lists every metric."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, start_http_server

from localmind.errors import ConfigError

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
BREAKER_STATES = ("closed", "half_open", "open")

REQUEST_SECONDS = Histogram(
    "localmind_request_seconds",
    "LSP request latency",
    ["method", "outcome"],
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "localmind_rate_limited_total", "Requests rejected by a rate limit", ["method_class"], registry=REGISTRY
)
BREAKER_STATE = Gauge(
    "localmind_breaker_state", "1 for the breaker's current state, else 0", ["backend", "state"], registry=REGISTRY
)
BREAKER_TRANSITIONS = Counter(
    "localmind_breaker_transitions_total", "Circuit-breaker state changes", ["backend", "state"], registry=REGISTRY
)
BACKEND_SECONDS = Histogram(
    "localmind_backend_call_seconds",
    "Backend call latency",
    ["backend", "operation"],
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
BACKEND_ERRORS = Counter(
    "localmind_backend_errors_total", "Failed backend calls", ["backend", "operation", "kind"], registry=REGISTRY
)
INDEX_QUEUE_DEPTH = Gauge(
    "localmind_index_queue_depth", "Indexing runs waiting (0 or 1: changes coalesce)", registry=REGISTRY
)
CHUNKS_INDEXED = Counter("localmind_chunks_indexed_total", "Chunks written to the index", registry=REGISTRY)
# CPU seconds, resident and virtual memory, open files and start time of this process, from /proc
# (Linux only; elsewhere the collector reports nothing): localmind_process_resident_memory_bytes etc.
PROCESS = ProcessCollector(namespace="localmind", registry=REGISTRY)


def breaker_state(backend: str, state: str) -> None:
    """Record a breaker's new state (one-hot over the three states) and count the change."""
    for name in BREAKER_STATES:
        BREAKER_STATE.labels(backend, name).set(1 if name == state else 0)
    BREAKER_TRANSITIONS.labels(backend, state).inc()


def backend_call(backend: str, operation: str, seconds: float, error_kind: str | None) -> None:
    BACKEND_SECONDS.labels(backend, operation).observe(seconds)
    if error_kind is not None:
        BACKEND_ERRORS.labels(backend, operation, error_kind).inc()


@contextmanager
def request_timer(method: str) -> Iterator[None]:
    """Observe REQUEST_SECONDS for one request of `method`; the outcome is ok, cancelled or error, by
    how the block ends (the exception goes on)."""
    began = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except BaseException as exc:
        outcome = "cancelled" if _is_cancellation(exc) else "error"
        raise
    finally:
        REQUEST_SECONDS.labels(method, outcome).observe(time.perf_counter() - began)


def _is_cancellation(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError) or type(exc).__name__ == "JsonRpcRequestCancelled"


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass
class MetricsServer:
    """The running endpoint: GET http://host:port/metrics. `close()` stops it (idempotent)."""

    host: str
    port: int
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()  # type: ignore[attr-defined]
        self._server.server_close()  # type: ignore[attr-defined]
        self._thread.join(timeout=5)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_metrics(port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve this module's REGISTRY in the Prometheus text format on host:port (port 0: any free port),
    from a daemon thread. Only a loopback host is accepted: the endpoint has no authentication, so
    exposing it beyond the machine is left to a reverse proxy or an SSH tunnel the operator sets up."""
    if not is_loopback(host):
        raise ConfigError(
            f"the metrics endpoint listens on the loopback interface only (got host {host!r}); "
            "put a reverse proxy or an SSH tunnel in front of it to reach it from elsewhere"
        )
    if not 0 <= port <= 65535:
        raise ConfigError(f"setting observability.metrics_port: {port} is not a TCP port")
    try:
        server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        raise ConfigError(
            f"setting observability.metrics_port: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another --metrics-port or stop the program using it"
        ) from None
    bound_port = int(server.server_address[1])
    metrics = MetricsServer(host, bound_port, server, thread)
    log.info("metrics on %s", metrics.url)
    return metrics
