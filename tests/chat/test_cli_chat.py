"""`localmind ask` and `localmind summarize` as a user runs them, with the real local LLM, with an
endpoint that never answers, and with none configured."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chat.conftest import FIXTURE_WORKSPACE, SilentEndpoint
from tests.servers.llm_server import LlmServer

QUESTION = "how are configuration files parsed?"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, embedder: object) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("cli-chat")
    root = base / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALMIND_")}
    env.update(
        LOCALMIND_INDEXING__DATA_DIR=str(base / "data"),
        LOCALMIND_EMBEDDINGS__CACHE_DIR=str(model_cache),
        XDG_CONFIG_HOME=str(base / "config"),
    )
    localmind(["index", str(root)], env, base)
    return root.resolve(), env


def localmind(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "localmind.cli", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result


def test_ask_with_the_llm(cli: tuple[Path, dict[str, str]], llm: LlmServer) -> None:
    root, env = cli
    env = {**env, "LOCALMIND_LLM__BASE_URL": llm.base_url, "LOCALMIND_LLM__MAX_TOKENS": "48"}
    answer = json.loads(localmind(["ask", QUESTION, "--json"], env, root).stdout)
    assert answer["extractive"] is False and answer["answer"].strip() and "fallbackReason" not in answer
    assert {"answer", "extractive", "sources", "citations", "conversationId", "model"} <= set(answer)
    source = answer["sources"][0]
    assert set(source) == {"n", "path", "uri", "range", "snippet"} and source["uri"].startswith("file://")
    plain = localmind(["ask", QUESTION, "--path", "src/**"], env, root).stdout
    assert "\nSources:\n[1] src/" in plain, "the plain answer ends with its numbered sources"


def test_ask_falls_back_when_the_endpoint_never_answers(cli: tuple[Path, dict[str, str]]) -> None:
    root, env = cli
    silent = SilentEndpoint()
    try:
        env = {**env, "LOCALMIND_LLM__BASE_URL": silent.base_url, "LOCALMIND_LLM__FIRST_TOKEN_TIMEOUT": "1"}
        answer = json.loads(localmind(["ask", QUESTION, "--json"], env, root).stdout)
        connections = silent.accepted
    finally:
        silent.close()
    # The configured wait (not the default 30 s) ended the answer, once: a timeout is not retried.
    assert answer["extractive"] is True and "llm.first_token_timeout (1 s)" in answer["fallbackReason"], answer
    assert connections == 1
    assert answer["answer"].startswith("The language model is unavailable")


def test_summarize_with_and_without_the_llm(cli: tuple[Path, dict[str, str]], llm: LlmServer) -> None:
    root, env = cli
    path = str(root / "notes" / "architecture.md")
    offline = json.loads(localmind(["summarize", path, "--json"], env, root).stdout)
    assert offline["extractive"] is True and offline["fallbackReason"] and offline["summary"]
    assert len(offline["questions"]) == 3 and offline["topics"]
    assert {s["path"] for s in offline["sources"]} == {"notes/architecture.md"}
    env = {**env, "LOCALMIND_LLM__BASE_URL": llm.base_url}
    briefing = json.loads(localmind(["summarize", path, "--json"], env, root).stdout)
    assert briefing["summary"] and len(briefing["questions"]) == 3
    assert briefing["extractive"] is False or "unusable" in briefing["fallbackReason"]
    plain = localmind(["summarize", path], env, root).stdout
    assert "Topics: " in plain and "\n3. " in plain
