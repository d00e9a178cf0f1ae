"""`localmind doctor`: what is wrong with this installation and configuration, and how to fix it.

Each check ends ok, warn or fail with a one-line detail and, unless ok, a one-line fix: the settings,
the embedding model, the execution provider, the workspace store, Neo4j and Milvus (when selected),
the LLM endpoint (when configured) and the metrics port (when set). A backend check never waits longer
than its configured timeout (plus a little slack); secrets are never printed, and every detail passes
through the redaction of observability.redaction as a last guard.

This module gathers plain data; cli.py prints it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from localmind.config import (
    CONFIG_FILE_NAME,
    BackendPolicy,
    GraphSettings,
    Settings,
    clear_text_credentials,
    ignored_workspace_settings,
    user_config_file,
)
from localmind.errors import ConfigError
from localmind.observability.redaction import redact_text

Status = Literal["ok", "warn", "fail"]
# Time a check may take beyond its own timeout (imports, a TLS handshake) before it is given up.
_SLACK_S = 5.0
# How to install an optional backend's client.
_EXTRA = "pip install 'localmind[{}]' into Local Mind's environment"
# Seconds the LLM endpoint may take to answer GET /models once connected.
_LLM_READ_S = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """The check as JSON, redacted, each text on one line."""
        return {key: redact_text(" ".join(value.split())) for key, value in asdict(self).items()}


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


@dataclass
class Diagnosis:
    """Everything doctor found: the checks, and the embedding report (versions, providers) as before."""

    checks: list[Check]
    embeddings: dict[str, object]

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)

    def to_json(self) -> dict[str, object]:
        report = dict(self.embeddings)
        model_problems = [str(problem) for problem in report.get("problems", [])]  # type: ignore[attr-defined]
        others = [f"{c.name}: {c.detail}" for c in self.checks if c.status == "fail" and c.name != "model"]
        report["problems"] = [redact_text(p) for p in model_problems + others]
        report["checks"] = [check.to_json() for check in self.checks]
        report["ok"] = not self.failed
        return report


def diagnose(settings: Settings, workspace: Path, metrics_port: int | None = None) -> Diagnosis:
    """Run every check that applies to these settings, for the workspace holding `workspace`."""
    from localmind.embeddings.inspect import doctor_report

    embeddings = doctor_report(settings.embeddings)
    team = team_check(settings)
    backends: list[_Bounded] = []
    # Credentials that would cross the network in clear text fail the team check, and no backend is contacted.
    if settings.graph.backend == "neo4j" and team.status != "fail":
        backends.append(_Bounded("neo4j", _timeout(settings.resilience.neo4j), lambda: neo4j_check(settings)))
    if settings.vectors.backend == "milvus" and team.status != "fail":
        backends.append(_Bounded("milvus", _timeout(settings.resilience.milvus), lambda: milvus_check(settings)))
    if settings.llm.base_url:
        backends.append(_Bounded("llm", settings.llm.connect_timeout + _LLM_READ_S, lambda: llm_check(settings)))
    checks = [settings_check(workspace), *model_checks(settings, embeddings), store_check(settings, workspace)]
    if settings.graph.backend == "neo4j" or settings.vectors.backend == "milvus":
        checks.append(team)
    checks += [backend.result() for backend in backends]  # They ran side by side meanwhile.
    checks.append(metrics_check(metrics_port or settings.observability.metrics_port))
    return Diagnosis(checks, embeddings)


def invalid_settings(error: ConfigError, workspace: Path) -> Diagnosis:
    """The diagnosis when the settings do not load: one failed check naming the setting(s)."""
    return Diagnosis([settings_failure(error, workspace)], {"problems": []})


# Settings ------------------------------------------------------------------------------------------------


def team_check(settings: Settings) -> Check:
    """Who this user is on the team servers, and whether credentials would travel there in clear text."""
    team = settings.team
    scope = f"the shared workspace {team.shared_workspace!r}" if team.shared_workspace else "workspaces of its own"
    detail = f"identity {team.identity()} (team.user), {scope}"
    problems = clear_text_credentials(settings)
    if problems and not team.allow_insecure_transport:
        return fail(
            "team", "; ".join(problems), "use TLS, or set team.allow_insecure_transport = true on a trusted network"
        )
    if problems:
        return warn("team", f"{detail}; " + "; ".join(problems), "use TLS (team.allow_insecure_transport is on)")
    return ok("team", detail)


def _config_sources(workspace: Path) -> list[str]:
    files = [str(path) for path in (user_config_file(), workspace / CONFIG_FILE_NAME) if path.is_file()]
    variables = sorted(name for name in os.environ if name.startswith("LOCALMIND_") and "__" in name)
    return files + [f"${name}" for name in variables]


def settings_check(workspace: Path) -> Check:
    sources = _config_sources(workspace)
    valid = "valid; from " + (", ".join(sources) if sources else "defaults only")
    ignored = ignored_workspace_settings(workspace)
    if ignored:
        return warn("settings", f"{valid}; {ignored}", f"if you trust this repository: localmind trust {workspace}")
    return ok("settings", valid)


def settings_failure(error: ConfigError, workspace: Path) -> Check:
    sources = _config_sources(workspace)
    where = ", ".join(sources) if sources else "the editor's settings"
    return fail(
        "settings",
        str(error).replace("\n  ", "; "),
        f"correct the named setting (in {where}); docs: README.md#settings",
    )


# Model and execution provider ---------------------------------------------------------------------------


def model_checks(settings: Settings, report: Mapping[str, object]) -> list[Check]:
    from localmind.embeddings.providers import GPU_INSTALL_HINT

    problems = [str(problem) for problem in report.get("problems", [])]  # type: ignore[attr-defined]
    device = settings.embeddings.device
    available = [str(name) for name in report.get("available_providers", [])]  # type: ignore[attr-defined]
    if problems:
        problem = problems[0]
        if device in ("cuda", "tensorrt") and ("CUDA" in problem or "GPU" in problem or "Provider" in problem):
            model = warn("model", "not loaded: the execution provider failed first", "see the provider check")
            return [model, fail("provider", problem, _cuda_fix(available, GPU_INSTALL_HINT))]
        fix = "run `localmind models build`" if "models build" not in problem else problem.split("; ")[-1]
        return [fail("model", problem, fix), warn("provider", "unknown until the model loads", "fix the model first")]
    model = ok("model", f"{report.get('model')} loads")
    provider = str(report.get("provider"))
    reason = str(report.get("provider_reason", ""))
    detail = f"{provider} ({reason})" if reason else provider
    if provider == "CPUExecutionProvider" and "CUDAExecutionProvider" in available:
        return [model, warn("provider", detail, _cuda_fix(available, GPU_INSTALL_HINT))]
    return [model, ok("provider", detail)]


def _cuda_fix(available: list[str], install_hint: str) -> str:
    if "CUDAExecutionProvider" not in available:
        return f'{install_hint}, or set embeddings.device = "cpu"'
    return (
        "onnxruntime-gpu is installed but CUDA did not start: check `nvidia-smi`; `scripts/use-gpu.sh` reinstalls "
        'it with the CUDA and cuDNN libraries it needs from PyPI; or set embeddings.device = "cpu"'
    )


# Workspace store ------------------------------------------------------------------------------------------


def store_check(settings: Settings, workspace: Path) -> Check:
    """Whether stores can be written, and what the index of this folder holds (read-only: nothing migrates)."""
    from localmind.indexing.workspace import find_workspace
    from localmind.stores.sqlite_schema import SCHEMA_VERSION

    data_dir = settings.indexing.resolved_data_dir()
    writable = _nearest_existing(data_dir)
    if not os.access(writable, os.W_OK | os.X_OK):
        return fail("store", f"cannot write {data_dir} (no write access to {writable})", "set indexing.data_dir")
    try:
        found = find_workspace(workspace, settings.indexing)
    except (OSError, ValueError, KeyError) as exc:
        return fail("store", f"a workspace description under {data_dir} is damaged: {exc}", "delete that folder")
    if found is None or not found.store_path.exists():
        return ok("store", f"{data_dir} is writable; {workspace} is not indexed yet (`localmind index {workspace}`)")
    try:
        with contextlib.closing(sqlite3.connect(f"{found.store_path.as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            files = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    except sqlite3.Error as exc:
        return fail(
            "store", f"cannot read {found.store_path}: {exc}", f"delete {found.folder} and index again to rebuild"
        )
    version = int(row[0]) if row else None
    if version is not None and version > SCHEMA_VERSION:
        return fail(
            "store",
            f"{found.store_path} has schema {version}, newer than this Local Mind's {SCHEMA_VERSION}",
            "upgrade localmind, or delete that folder to rebuild the index",
        )
    detail = f"{found.store_path}: {files} files, schema {version}"
    if version is not None and version < SCHEMA_VERSION:
        return warn("store", detail, f"it moves to schema {SCHEMA_VERSION} when next opened (`localmind status`)")
    return ok("store", detail)


def _nearest_existing(path: Path) -> Path:
    path = path.expanduser()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


# Backends ---------------------------------------------------------------------------------------------------


def _timeout(policy: BackendPolicy) -> float:
    """A backend's call timeout (resilience.<backend>.timeout)."""
    return policy.timeout


class _Bounded:
    """A check running on a daemon thread from its creation, given up after its timeout plus some slack."""

    def __init__(self, name: str, timeout: float, check: Callable[[], Check]) -> None:
        self.name = name
        self.deadline = time.monotonic() + timeout + _SLACK_S
        self._outcome: list[Check] = []
        self._check = check
        self._worker = threading.Thread(target=self._run, name=f"doctor-{name}", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        try:
            outcome = self._check()
        except Exception as exc:  # A check that breaks still reports, and doctor goes on.
            outcome = fail(self.name, f"the check itself failed: {type(exc).__name__}: {exc}", "report this as a bug")
        self._outcome.append(outcome)

    def result(self) -> Check:
        self._worker.join(max(0.0, self.deadline - time.monotonic()))
        if self._outcome:
            return self._outcome[0]
        return fail(self.name, "no answer in time", f"check that {self.name} is up and reachable from here")


def _password_hint(graph: GraphSettings) -> str:
    if graph.password_file is not None:
        return f"the first line of graph.password_file ({graph.password_file})"
    if os.environ.get("LOCALMIND_GRAPH__PASSWORD"):
        return "$LOCALMIND_GRAPH__PASSWORD"
    return "graph.password (or graph.password_file, or $LOCALMIND_GRAPH__PASSWORD)"


def neo4j_check(settings: Settings) -> Check:
    """Connect to Neo4j and run RETURN 1 within resilience.neo4j.timeout; unreachable and refused are told apart."""
    if importlib.util.find_spec("neo4j") is None:
        return fail("neo4j", "graph.backend is neo4j but the Neo4j driver is not installed", _EXTRA.format("neo4j"))
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ClientError, ConfigurationError, DriverError, Neo4jError

    graph, timeout = settings.graph, _timeout(settings.resilience.neo4j)
    try:
        password = graph.resolved_password()
    except ConfigError as exc:
        fix = "put the password on the first line of that file" if graph.password_file else "set the password"
        return fail("neo4j", str(exc), f"{fix}: {_password_hint(graph)}")
    where = f"Neo4j at {graph.uri} (user {graph.user}, database {graph.database})"
    began = time.monotonic()
    try:
        driver = GraphDatabase.driver(
            graph.uri,
            auth=(graph.user, password),
            connection_timeout=timeout,
            connection_acquisition_timeout=timeout,
        )
    except (ConfigurationError, ValueError) as exc:
        return fail("neo4j", f"graph.uri {graph.uri!r} is not a Neo4j URI: {exc}", "use bolt://, neo4j:// or +s forms")
    try:
        with driver.session(database=graph.database) as session:
            session.run("RETURN 1").consume()
    except AuthError as exc:
        return fail(
            "neo4j",
            f"{where} refused the credentials: {exc.message or exc}",
            f"check graph.user and the password in {_password_hint(graph)}",
        )
    except ClientError as exc:
        if "DatabaseNotFound" in str(exc.code):
            return fail("neo4j", f"{where}: no such database", "set graph.database to an existing database")
        return fail("neo4j", f"{where}: {exc.code}: {exc.message}", "see the Neo4j server log")
    except (DriverError, Neo4jError, OSError) as exc:
        return fail(
            "neo4j",
            f"cannot reach {where}: {type(exc).__name__}: {exc}",
            "start Neo4j, or correct graph.uri (is the Bolt port open from here?)",
        )
    finally:
        driver.close()
    detail = f"{where} answers ({(time.monotonic() - began) * 1000:.0f} ms)"
    if graph.password_is_weak():
        return warn("neo4j", detail + "; the password is a well-known default", "choose a strong Neo4j password")
    return ok("neo4j", detail)


def milvus_check(settings: Settings) -> Check:
    """Connect to the Milvus server and list collections within resilience.milvus.timeout. A Milvus Lite
    file is checked without starting it (a running server may hold its lock)."""
    vectors, timeout = settings.vectors, _timeout(settings.resilience.milvus)
    uri = vectors.uri.strip()
    if not uri.lower().startswith(("http://", "https://", "tcp://", "grpc://", "unix:")):
        return _milvus_lite_check(uri)
    if importlib.util.find_spec("pymilvus") is None:
        return fail("milvus", "vectors.backend is milvus but pymilvus is not installed", _EXTRA.format("milvus"))
    from pymilvus import MilvusClient

    from localmind.observability.logs import LIBRARY_LOGGERS, adopt_library_logs

    adopt_library_logs()
    for name in LIBRARY_LOGGERS:  # This check reports a failure itself; pymilvus would log it once more.
        logging.getLogger(name).setLevel(logging.CRITICAL)
    shown = redact_text(uri)
    token = vectors.token.get_secret_value() if vectors.token else ""
    began = time.monotonic()
    try:
        client = MilvusClient(uri=uri, token=token, timeout=timeout, alias=f"localmind-doctor-{uuid.uuid4().hex}")
    except Exception as exc:  # pymilvus raises several kinds here, not all MilvusException.
        return _milvus_failure(shown, exc)
    try:
        collections = client.list_collections(timeout=timeout)
    except Exception as exc:
        return _milvus_failure(shown, exc)
    finally:
        with contextlib.suppress(Exception):
            client.close()
    ours = [name for name in collections if str(name).startswith(vectors.collection_prefix)]
    elapsed = (time.monotonic() - began) * 1000
    return ok("milvus", f"Milvus at {shown} answers ({elapsed:.0f} ms; {len(ours)} Local Mind collections)")


def _milvus_failure(shown: str, exc: Exception) -> Check:
    message = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    lowered = message.lower()
    if any(word in lowered for word in ("auth", "credential", "permission", "password", "token")):
        return fail("milvus", f"Milvus at {shown} refused the credentials: {message}", "check vectors.token")
    return fail(
        "milvus",
        f"cannot reach Milvus at {shown}: {message}",
        "start Milvus, or correct vectors.uri (http://HOST:19530, or a Milvus Lite file path ending in .db)",
    )


def _milvus_lite_check(uri: str) -> Check:
    path = Path(uri).expanduser()
    if path.suffix != ".db":
        return fail("milvus", f"vectors.uri {uri!r} is neither http(s):// nor a .db file", "fix vectors.uri")
    if importlib.util.find_spec("milvus_lite") is None:
        return fail(
            "milvus", "vectors.uri is a Milvus Lite file but milvus-lite is not installed", _EXTRA.format("milvus")
        )
    folder = _nearest_existing(path.parent)
    if not os.access(folder, os.W_OK | os.X_OK):
        return fail("milvus", f"cannot write the Milvus Lite file's folder {folder}", "choose a writable vectors.uri")
    state = "exists" if path.exists() else "will be created on first use"
    return ok("milvus", f"Milvus Lite file {path} {state} (not opened: a running server may hold it)")


def llm_check(settings: Settings) -> Check:
    """GET {base_url}/models with the API key (never shown), within llm.connect_timeout to connect."""
    import httpx

    llm = settings.llm
    base = (llm.base_url or "").rstrip("/")
    shown = redact_text(base)
    headers = {"Authorization": f"Bearer {llm.api_key.get_secret_value()}"} if llm.api_key else {}
    try:
        response = httpx.get(
            f"{base}/models", headers=headers, timeout=httpx.Timeout(_LLM_READ_S, connect=llm.connect_timeout)
        )
    except httpx.TimeoutException as exc:
        return fail("llm", f"{shown} did not answer in time ({type(exc).__name__})", _llm_reach_fix())
    except httpx.HTTPError as exc:
        return fail("llm", f"cannot reach {shown}: {type(exc).__name__}: {exc}", _llm_reach_fix())
    if response.status_code in (401, 403):
        state = "the API key it was sent" if llm.api_key else "a request without an API key"
        return fail(
            "llm",
            f"{shown} refused {state} (HTTP {response.status_code})",
            "set llm.api_key (or $LOCALMIND_LLM__API_KEY)",
        )
    if response.status_code == 404:
        return warn(
            "llm", f"{shown}/models is not found (HTTP 404)", "llm.base_url should end with /v1 for most servers"
        )
    if response.status_code >= 400:
        return fail("llm", f"{shown}/models answered HTTP {response.status_code}", "see the LLM server's log")
    served = _served_models(response)
    detail = f"{shown} answers; serves {', '.join(served[:5]) or 'no listed model'}"
    if served and llm.model not in served:
        return warn("llm", detail, f"llm.model is {llm.model!r}: set it to a served model (llama.cpp accepts any name)")
    return ok("llm", detail)


def _served_models(response: Any) -> list[str]:
    try:
        data = response.json().get("data", [])
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]
    except (ValueError, AttributeError, TypeError):
        return []


def _llm_reach_fix() -> str:
    return (
        "start the LLM server, or correct llm.base_url (e.g. http://127.0.0.1:8080/v1); unset it for extractive answers"
    )


# Metrics port -------------------------------------------------------------------------------------------------


def metrics_check(port: int | None) -> Check:
    if port is None:
        return ok("metrics", "no endpoint (opt-in: --metrics-port PORT or observability.metrics_port)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            bind_error = exc.strerror or str(exc)
        else:
            return ok("metrics", f"127.0.0.1:{port} is free")
    if _serves_our_metrics(port):
        return ok("metrics", f"127.0.0.1:{port} already serves Local Mind's metrics (a running server)")
    return fail(
        "metrics",
        f"127.0.0.1:{port} is taken by another program ({bind_error})",
        "choose another --metrics-port / observability.metrics_port, or stop that program",
    )


def _serves_our_metrics(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return b"localmind_" in response.read(1 << 20)
    except (urllib.error.URLError, OSError, ValueError):
        return False
