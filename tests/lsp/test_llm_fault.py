"""Fault injection on the LLM endpoint through the language server: an endpoint that accepts the
connection and never answers. `localmind.ask` returns the extractive answer when `llm.first_token_timeout`
runs out (its reason names that setting and its value), and after `resilience.llm.failure_threshold` such
answers the breaker opens, so the next question falls back without connecting to the endpoint and status
reports the LLM as degraded. The times are printed, not asserted: a busy machine is slow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.chat.conftest import SilentEndpoint
from tests.lsp.helpers import start_client, wait_for_index

pytestmark = pytest.mark.asyncio(loop_scope="function")
FIRST_TOKEN_TIMEOUT = 2.0


@pytest.fixture()
def silent() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


async def ask(client: LanguageClient, question: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    params = types.ExecuteCommandParams(command="localmind.ask", arguments=[{"question": question}])
    answer: dict[str, Any] = await client.workspace_execute_command_async(params)
    return time.monotonic() - started, answer


async def test_an_llm_that_never_answers_gives_the_extractive_answer_in_time(
    lsp_root: Path, lsp_env: dict[str, str], silent: SilentEndpoint
) -> None:
    options = {
        "llm": {"base_url": silent.base_url, "first_token_timeout": FIRST_TOKEN_TIMEOUT},
        "resilience": {"llm": {"failure_threshold": 2, "reset_timeout": 60}},
    }
    client = await start_client(lsp_root, lsp_env, options=options)
    try:
        await wait_for_index(client)
        timings = []
        for n in range(2):
            elapsed, answer = await ask(client, f"how is the configuration loaded? ({n})")
            timings.append(elapsed)
            assert answer["extractive"] is True
            assert f"llm.first_token_timeout ({FIRST_TOKEN_TIMEOUT:g} s)" in answer["fallbackReason"], answer
            assert answer["sources"], "the extractive answer still cites its sources"
            assert silent.accepted == n + 1, "one connection per question: a timeout is not retried"
        elapsed_open, refused = await ask(client, "and where is it merged?")
        assert refused["extractive"] is True and "circuit open" in refused["fallbackReason"]
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="localmind.status", arguments=[])
        )
    finally:
        await client.shutdown_session()
    print(
        f"\nllm never answers: extractive answers after {timings[0]:.2f} s and {timings[1]:.2f} s "
        f"(first_token_timeout {FIRST_TOKEN_TIMEOUT:g} s); breaker open → next answer in {elapsed_open * 1000:.0f} ms"
    )
    assert status["backends"]["llm"]["state"] == "degraded" and "llm unavailable since" in status["summary"]
    assert silent.accepted == 2, "the open breaker kept the third question away from the endpoint"
