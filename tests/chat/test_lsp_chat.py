"""`localmind.ask` and `localmind.summarize` end to end: `localmind serve` over stdio (pytest-lsp), its
`llm.base_url` pointing at a recording proxy in front of the real local LLM."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from localmind.embeddings import OnnxEmbedder
from localmind.secret_masking import redact
from tests.chat.conftest import FIXTURE_WORKSPACE, RecordingProxy
from tests.lsp.helpers import server_env, start_client, wait_for_index
from tests.servers.llm_server import LlmServer

pytestmark = pytest.mark.asyncio(loop_scope="module")
QUESTION = "How are configuration files parsed?"


@pytest.fixture(scope="module")
def lsp_proxy(llm: LlmServer) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(llm.base_url)
    yield recording
    recording.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lsp-chat") / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, folder)
    return folder.resolve()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    root: Path,
    lsp_proxy: RecordingProxy,
    embedder: OnnxEmbedder,
    model_cache: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LanguageClient]:
    env = server_env(model_cache, tmp_path_factory.mktemp("lsp-chat-data"), tmp_path_factory.mktemp("lsp-chat-config"))
    llm = {"base_url": lsp_proxy.base_url, "max_tokens": 96, "temperature": 0.0}
    client = await start_client(root, env, options={"llm": llm})
    await wait_for_index(client)
    yield client
    await client.shutdown_session()


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


def deltas(client: LanguageClient, token: str) -> list[str]:
    return [part["delta"] for part in client.partial_results.get(token, [])]  # type: ignore[attr-defined]


def range_text(uri: str, span: dict[str, Any]) -> str:
    lines = redact(Path(uri.removeprefix("file://")).read_text(encoding="utf-8"))[0].split("\n")
    start, end = span["start"], span["end"]
    picked = lines[start["line"] : end["line"] + 1]
    picked[-1] = picked[-1][: end["character"]]
    picked[0] = picked[0][start["character"] :]
    return "\n".join(picked)


async def test_the_answer_streams_with_citations_that_point_at_indexed_text(client: LanguageClient, root: Path) -> None:
    client.progress_reports["ask-work"] = []
    request = {"question": QUESTION, "partialResultToken": "ask-1", "workDoneToken": "ask-work"}
    answer = await command(client, "localmind.ask", request)
    streamed = deltas(client, "ask-1")
    assert len(streamed) >= 3, "several progress messages arrived before the result"
    assert "".join(streamed) == answer["answer"]
    assert answer["extractive"] is False and "fallbackReason" not in answer and answer["model"]
    numbers = [source["n"] for source in answer["sources"]]
    assert numbers == list(range(1, len(numbers) + 1))
    for source in answer["sources"]:
        assert source["uri"] == (root / source["path"]).as_uri()
        text = range_text(source["uri"], source["range"])
        assert all(line.strip() in text for line in source["snippet"].split("\n")), source
    for citation in answer["citations"]:
        assert citation["n"] in numbers, "an invented citation is never linked"
        assert citation["range"] == answer["sources"][citation["n"] - 1]["range"]
    for cited in re.findall(r"(?<![\w\])])\[(\d+)\]", answer["answer"]):
        assert int(cited) in numbers, "invented numbers were dropped from the text"
    kinds = [getattr(report, "kind", None) for report in client.progress_reports["ask-work"]]
    assert kinds[0] == "begin" and kinds[-1] == "end"


async def test_a_follow_up_question_uses_the_history(client: LanguageClient, lsp_proxy: RecordingProxy) -> None:
    first = await command(client, "localmind.ask", {"question": QUESTION})
    follow = await command(
        client,
        "localmind.ask",
        {"question": "Where is that function defined?", "conversationId": first["conversationId"]},
    )
    assert follow["conversationId"] == first["conversationId"]
    messages = lsp_proxy.exchanges[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == QUESTION
    assert messages[2]["content"].strip()[:40] == first["answer"].strip()[:40]


async def test_cancelling_the_request_stops_the_stream(client: LanguageClient, lsp_proxy: RecordingProxy) -> None:
    question = {"question": "Describe everything the workspace says about its design.", "partialResultToken": "ask-c"}
    params = types.ExecuteCommandParams(command="localmind.ask", arguments=[question])
    before = len(lsp_proxy.exchanges)
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="ask-cancel")
    )
    async with asyncio.timeout(60):
        while len(deltas(client, "ask-c")) < 3:
            await asyncio.sleep(0.01)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="ask-cancel"))
    with pytest.raises(JsonRpcException) as caught:
        await pending
    assert caught.value.code == -32800
    exchange = lsp_proxy.exchanges[before]
    # Order and outcome, not speed: the stream ended (a generous deadline) because the server hung up on it.
    assert await asyncio.to_thread(exchange.done.wait, 120), "the proxy never saw the LLM stream end"
    assert exchange.client_gone, "the server read the stream to its end instead of closing it"
    seen = len(deltas(client, "ask-c"))
    await asyncio.sleep(0.5)
    assert len(deltas(client, "ask-c")) == seen, "no delta after the cancellation"
    assert seen < 96


async def test_a_hover_is_answered_while_an_answer_is_generated(
    client: LanguageClient, root: Path, lsp_proxy: RecordingProxy
) -> None:
    """The reader thread is free while the LLM writes. The proxy holds the answer's stream after its first
    piece until the search is answered, so the order is fixed by the test rather than by a clock."""
    question = {"question": "Describe the design in detail.", "partialResultToken": "ask-h"}
    lsp_proxy.flowing.clear()
    try:
        asking = asyncio.ensure_future(command(client, "localmind.ask", question))
        assert await asyncio.to_thread(lsp_proxy.holding.wait, 120), "the answer's stream never started"
        async with asyncio.timeout(120):  # Only against a hang: a search queued behind the answer never comes.
            results = await command(client, "localmind.search", {"query": "parse_config", "k": 1})
        assert results, "the search was answered..."
        assert not asking.done(), "...while the answer was still being written"
    finally:
        lsp_proxy.flowing.set()
        lsp_proxy.holding.clear()
    await asking


async def test_summarize_a_file(client: LanguageClient, root: Path) -> None:
    summary = await command(client, "localmind.summarize", {"uri": (root / "src" / "config_loader.py").as_uri()})
    assert set(summary) >= {"summary", "topics", "questions", "extractive", "sources"}
    assert summary["summary"] and len(summary["questions"]) == 3
    # The tiny model may loop or echo the file: then the briefing is extractive and says why.
    assert summary["extractive"] is False or "unusable" in summary["fallbackReason"]
    assert all(isinstance(topic, str) and topic for topic in summary["topics"])
    assert {source["path"] for source in summary["sources"]} == {"src/config_loader.py"}
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "localmind.summarize", {"uri": (root / "missing.py").as_uri()})
    assert caught.value.code == -32803
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "localmind.summarize", {"path": "x"})
    assert caught.value.code == -32602


async def test_a_selection_is_the_first_source_at_its_exact_range(
    client: LanguageClient, root: Path, lsp_proxy: RecordingProxy
) -> None:
    uri = (root / "src" / "config_loader.py").as_uri()
    lines = (root / "src" / "config_loader.py").read_text().split("\n")
    line = next(n for n, text in enumerate(lines) if text.startswith("def parse_config"))
    selected = {"start": {"line": line, "character": 4}, "end": {"line": line + 1, "character": 20}}
    scope = {"uri": uri, "range": selected}
    answer = await command(client, "localmind.ask", {"question": "What does this do?", "scope": scope})
    first = answer["sources"][0]
    assert first["n"] == 1 and first["uri"] == uri and first["range"] == selected
    assert first["snippet"] == lines[line][4:].strip()
    assert {source["path"] for source in answer["sources"]} == {"src/config_loader.py"}
    sent = "\n".join(m["content"] for m in lsp_proxy.exchanges[-1].body["messages"])
    assert f'<source n="1" path="src/config_loader.py" lines="{line + 1}-{line + 2}">' in sent
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "localmind.ask", {"question": "q", "scope": {"range": selected}})
    assert caught.value.code == -32602
    # Failed before (issue #17, finding 6): a range that is not a Range was an internal error, -32603.
    for bad in ("bad", {"start": 1}, {"start": {"line": "x", "character": 0}, "end": {"line": 0, "character": 0}}):
        with pytest.raises(JsonRpcException) as caught:
            await command(client, "localmind.ask", {"question": "q", "scope": {"uri": uri, "range": bad}})
        assert caught.value.code == -32602, bad
