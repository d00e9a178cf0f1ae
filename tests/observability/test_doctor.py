"""`localmind doctor`: each check ends ok, warn or fail with a fix; dead backends fail fast; secrets never show."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from localmind.config import Settings
from localmind.embeddings import OnnxEmbedder
from localmind.observability import doctor, metrics
from tests.servers.closing_listener import ClosingListener
from tests.stores.milvus_fixtures import connection_waits

SECRET = "sk-doctor-secret-4242"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def env(model_cache: Path, embedder: OnnxEmbedder, tmp_path: Path) -> dict[str, str]:
    """The environment of a doctor run: the session's built model and a data folder of this test's own."""
    del embedder  # Requested so that the default model is built in model_cache.
    return {
        **os.environ,
        "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(model_cache),
        "LOCALMIND_INDEXING__DATA_DIR": str(tmp_path / "data"),
    }


def localmind(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "localmind.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False)


def doctor_json(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = localmind("doctor", "--json", *args, env=env, cwd=cwd)
    return result.returncode, json.loads(result.stdout), result.stdout + result.stderr


def check(report: dict[str, Any], name: str) -> dict[str, str]:
    [found] = [c for c in report["checks"] if c["name"] == name]
    return found  # type: ignore[no-any-return]


def test_doctor_on_defaults_reports_ok(env: dict[str, str], tmp_path: Path) -> None:
    code, report, _ = doctor_json(env, tmp_path)
    assert code == 0, report
    assert report["ok"] is True and report["problems"] == []
    assert [c["name"] for c in report["checks"]] == ["settings", "model", "provider", "store", "metrics"]
    assert all(c["status"] == "ok" for c in report["checks"]), report["checks"]
    assert report["provider"] in ("CPUExecutionProvider", "CUDAExecutionProvider")  # The report's keys stay.


def test_doctor_text_output_lists_each_check(env: dict[str, str], tmp_path: Path) -> None:
    result = localmind("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("settings", "model", "provider", "store", "metrics"):
        assert f"ok   {name}: " in result.stdout


def test_a_dead_neo4j_fails_fast_with_the_fix(env: dict[str, str], tmp_path: Path) -> None:
    """Fast means one connection attempt and the check's own failure, not a time: a machine under load
    is slow, but a retry is one more connection, and a check still waiting when doctor gives up on it
    would say "no answer in time" instead of "cannot reach"."""
    with ClosingListener() as dead:
        env |= {
            "LOCALMIND_GRAPH__BACKEND": "neo4j",
            "LOCALMIND_GRAPH__URI": f"bolt://127.0.0.1:{dead.port}",
            "LOCALMIND_GRAPH__PASSWORD": SECRET,
        }
        code, report, output = doctor_json(env, tmp_path)
        assert dead.connections == 1, "the check tried Neo4j once, without retrying"
    assert code == 1 and report["ok"] is False
    neo4j = check(report, "neo4j")
    assert neo4j["status"] == "fail" and "cannot reach Neo4j" in neo4j["detail"]
    assert "graph.uri" in neo4j["fix"]
    assert any(p.startswith("neo4j: cannot reach") for p in report["problems"])
    assert SECRET not in output


def test_a_dead_milvus_fails_with_the_fix(env: dict[str, str], tmp_path: Path) -> None:
    env |= {
        "LOCALMIND_VECTORS__BACKEND": "milvus",
        "LOCALMIND_VECTORS__URI": f"http://127.0.0.1:{free_port()}",
        "LOCALMIND_VECTORS__TOKEN": f"root:{SECRET}",
        # The check waits at most the configured timeout (test_the_milvus_check_waits_only_its_timeout): a
        # check still waiting when doctor gives up on it would say "no answer in time", not "cannot reach".
        "LOCALMIND_RESILIENCE__MILVUS__TIMEOUT": "3",
    }
    code, report, output = doctor_json(env, tmp_path)
    milvus = check(report, "milvus")
    assert code == 1 and milvus["status"] == "fail" and "cannot reach Milvus" in milvus["detail"]
    assert "vectors.uri" in milvus["fix"]
    assert SECRET not in output


def test_a_dead_llm_endpoint_fails_fast_and_the_key_never_shows(env: dict[str, str], tmp_path: Path) -> None:
    with ClosingListener() as dead:
        env |= {
            "LOCALMIND_LLM__BASE_URL": f"http://user:{SECRET}@127.0.0.1:{dead.port}/v1",
            "LOCALMIND_LLM__API_KEY": SECRET,
        }
        result = localmind("doctor", env=env, cwd=tmp_path)
        assert dead.connections == 1, "the check tried the endpoint once, without retrying"
    assert result.returncode == 1
    assert "FAIL llm: cannot reach http://user:***@127.0.0.1" in result.stdout
    assert "fix: start the LLM server, or correct llm.base_url" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_invalid_settings_fail_the_settings_check_and_name_the_setting(env: dict[str, str], tmp_path: Path) -> None:
    env["LOCALMIND_LIMITS__CHAT__BURST"] = "0"
    code, report, output = doctor_json(env, tmp_path)
    assert code == 2
    settings = check(report, "settings")
    assert settings["status"] == "fail" and "setting limits.chat.burst" in settings["detail"]
    assert "LOCALMIND_LIMITS__CHAT__BURST" in settings["fix"]
    assert "error:" in output and "Traceback" not in output


def test_doctor_reads_the_store_of_an_indexed_folder(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# A note\n\nSome words.\n")
    assert localmind("index", str(folder), env=env, cwd=tmp_path).returncode == 0
    code, report, _ = doctor_json(env, folder)
    store = check(report, "store")
    assert code == 0 and store["status"] == "ok" and "1 files" in store["detail"]


# The checks one by one, in this process -------------------------------------------------------------------


class _ModelsHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/models that wants `Authorization: Bearer right-key`."""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer right-key":
            self.send_response(401)
            self.end_headers()
            return
        if self.path != "/v1/models":
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps({"data": [{"id": "qwen-0.5b"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture()
def llm_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _ModelsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def llm_settings(url: str, **llm: object) -> Settings:
    return Settings.model_validate({"llm": {"base_url": url, **llm}})


def test_llm_answers_with_the_right_key(llm_url: str) -> None:
    result = doctor.llm_check(llm_settings(llm_url, api_key="right-key", model="qwen-0.5b"))
    assert result.status == "ok" and "serves qwen-0.5b" in result.detail


def test_llm_refusing_the_key_is_told_apart_from_unreachable(llm_url: str) -> None:
    result = doctor.llm_check(llm_settings(llm_url, api_key="wrong-key-123"))
    assert result.status == "fail" and "refused the API key" in result.detail and "llm.api_key" in result.fix
    assert "wrong-key-123" not in json.dumps(result.to_json())


def test_llm_serving_another_model_is_a_warning(llm_url: str) -> None:
    result = doctor.llm_check(llm_settings(llm_url, api_key="right-key", model="local"))
    assert result.status == "warn" and "llm.model" in result.fix


def test_llm_base_url_without_v1_is_a_warning(llm_url: str) -> None:
    result = doctor.llm_check(llm_settings(llm_url.removesuffix("/v1"), api_key="right-key"))
    assert result.status == "warn" and "/v1" in result.fix


def test_neo4j_without_a_password_says_where_to_put_one(tmp_path: Path) -> None:
    result = doctor.neo4j_check(Settings.model_validate({"graph": {"backend": "neo4j"}}))
    assert result.status == "fail" and "graph.password" in result.detail and "password_file" in result.fix
    missing = tmp_path / "absent"
    result = doctor.neo4j_check(Settings.model_validate({"graph": {"backend": "neo4j", "password_file": missing}}))
    assert result.status == "fail" and str(missing) in result.fix


def test_a_milvus_lite_file_is_checked_without_opening_it(tmp_path: Path) -> None:
    target = tmp_path / "vectors" / "lm.db"
    result = doctor.milvus_check(Settings.model_validate({"vectors": {"backend": "milvus", "uri": str(target)}}))
    assert result.status == "ok" and "will be created" in result.detail and not target.exists()


def test_the_milvus_check_waits_only_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Milvus server that is not there costs the check one wait for the connection, as long as
    resilience.milvus.timeout (pymilvus alone would wait 10 s): read from what pymilvus asks gRPC for."""
    waits = connection_waits(monkeypatch)
    settings = Settings.model_validate(
        {
            "vectors": {"backend": "milvus", "uri": f"http://127.0.0.1:{free_port()}"},
            "resilience": {"milvus": {"timeout": 1}},
        }
    )
    result = doctor.milvus_check(settings)
    assert result.status == "fail" and "cannot reach Milvus" in result.detail and "vectors.uri" in result.fix
    assert waits == [1.0], "one wait for the connection, as long as the configured timeout"


def test_the_metrics_port_check() -> None:
    assert doctor.metrics_check(None).status == "ok"
    assert doctor.metrics_check(free_port()).status == "ok"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = doctor.metrics_check(taken.getsockname()[1])
        assert result.status == "fail" and "--metrics-port" in result.fix
    ours = metrics.serve_metrics(0)
    try:
        result = doctor.metrics_check(ours.port)
        assert result.status == "ok" and "already serves Local Mind" in result.detail
    finally:
        ours.close()


CPU_ONLY = ["AzureExecutionProvider", "CPUExecutionProvider"]
WITH_CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cuda_requested_without_a_gpu_build_says_how_to_install_it() -> None:
    settings = Settings.model_validate({"embeddings": {"device": "cuda"}})
    report = {
        "available_providers": CPU_ONLY,
        "problems": ["CUDAExecutionProvider is not in this onnxruntime build; install the GPU build with ..."],
    }
    _, provider = doctor.model_checks(settings, report)
    assert provider.status == "fail" and "scripts/use-gpu.sh" in provider.fix and 'device = "cpu"' in provider.fix


def test_cuda_that_does_not_start_says_what_to_check() -> None:
    settings = Settings.model_validate({"embeddings": {"device": "auto"}})
    report = {
        "available_providers": WITH_CUDA,
        "problems": [],
        "model": "all-MiniLM-L6-v2:fp32",
        "provider": "CPUExecutionProvider",
        "provider_reason": "CUDA could not start (no GPU, or CUDA libraries missing): using the CPU",
    }
    model, provider = doctor.model_checks(settings, report)
    assert model.status == "ok" and provider.status == "warn"
    assert "nvidia-smi" in provider.fix and "cuDNN" in provider.fix


def test_a_missing_model_says_to_build_it() -> None:
    report = {"available_providers": CPU_ONLY, "problems": ["m (fp32) is not built; run `localmind models build`"]}
    model, _ = doctor.model_checks(Settings(), report)
    assert model.status == "fail" and model.fix == "run `localmind models build`"


def test_a_missing_backend_client_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("neo4j", "pymilvus") else real(name, *a)
    )
    settings = Settings.model_validate({"graph": {"backend": "neo4j"}, "vectors": {"backend": "milvus"}})
    neo4j, milvus = doctor.neo4j_check(settings), doctor.milvus_check(settings)
    assert neo4j.status == milvus.status == "fail"
    assert "localmind[neo4j]" in neo4j.fix and "localmind[milvus]" in milvus.fix


def test_doctor_names_the_identity_and_refuses_clear_text_credentials(env: dict[str, str], tmp_path: Path) -> None:
    env |= {
        "LOCALMIND_GRAPH__BACKEND": "neo4j",
        "LOCALMIND_GRAPH__URI": "bolt://graph.example.invalid:7687",
        "LOCALMIND_GRAPH__PASSWORD": SECRET,
        "LOCALMIND_TEAM__USER": "ada@laptop",
    }
    code, report, output = doctor_json(env, tmp_path)
    team = check(report, "team")
    assert code == 1 and team["status"] == "fail" and "bolt+s://" in team["detail"]
    assert "allow_insecure_transport" in team["fix"] and SECRET not in output
    assert not [c for c in report["checks"] if c["name"] == "neo4j"], "no backend is contacted"
    env["LOCALMIND_GRAPH__URI"] = f"bolt://127.0.0.1:{free_port()}"  # This machine: no TLS needed.
    _, report, _ = doctor_json(env, tmp_path)
    team = check(report, "team")
    assert team["status"] == "ok" and "identity ada@laptop" in team["detail"]
    assert check(report, "neo4j")["status"] == "fail", "the backend is contacted (and is not there)"
