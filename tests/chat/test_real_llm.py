"""Grounded answers with a real local LLM (SmolLM2-135M-Instruct served by llama.cpp): streaming, citations
that point at real indexed text, history in follow-ups, cancellation, and the extractive fallback when the
endpoint dies mid-answer, never answers, refuses, or its breaker is open.

The model is tiny: the tests check what any real answer has, never its wording."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from localmind.chat.ask import AskRequest, Chat
from localmind.chat.conversations import Conversations
from localmind.chat.llm import Cancellation, GenerationCancelled
from localmind.chat.sources import Source
from localmind.chat.summarize import Summarizer, read_file
from localmind.config import LlmPolicy, LlmSettings
from localmind.resilience import BackendGuard
from localmind.retrieval import Searcher
from localmind.secret_masking import redact
from tests.chat.conftest import RecordingProxy, SilentEndpoint
from tests.servers.llm_server import start_llm_server

QUESTION = "How are configuration files parsed?"


def llm_settings(base_url: str, **values: object) -> LlmSettings:
    return LlmSettings.model_validate({"base_url": base_url, "max_tokens": 64, "temperature": 0.0, **values})


def range_text(source: Source) -> str:
    """The text at a source's range, read back from its file (secrets masked as the index masks them)."""
    path = Path(source.uri.removeprefix("file://"))
    lines = redact(path.read_text(encoding="utf-8"))[0].split("\n")
    start, end = source.range.start, source.range.end
    picked = lines[start.line : end.line + 1]
    picked[-1] = picked[-1][: end.character] if start.line != end.line else picked[-1][start.character : end.character]
    if start.line != end.line:
        picked[0] = picked[0][start.character :]
    return "\n".join(picked)


def assert_points_at_real_text(source: Source) -> None:
    text = range_text(source)
    for line in source.snippet.split("\n"):
        assert line.strip() in text, f"{source.path}:{source.range} does not hold {line!r}"


def test_the_answer_streams_and_its_citations_point_at_indexed_text(searcher: Searcher, proxy: RecordingProxy) -> None:
    chat = Chat(llm_settings(proxy.base_url), Conversations())
    deltas: list[str] = []
    answer = chat.ask(searcher, AskRequest(QUESTION), deltas.append)
    assert not answer.extractive and answer.fallback_reason is None
    assert len(deltas) >= 3 and "".join(deltas) == answer.answer
    assert answer.sources and answer.model
    numbers = {source.n for source in answer.sources}
    assert numbers == set(range(1, len(answer.sources) + 1))
    assert {citation.n for citation in answer.citations} <= numbers, "only sources that exist are cited"
    for source in answer.sources:
        assert_points_at_real_text(source)
    for citation in answer.citations:
        assert citation.uri == answer.sources[citation.n - 1].uri
    sent = proxy.exchanges[-1].body
    assert sent["stream"] is True and sent["max_tokens"] == 64
    user = sent["messages"][-1]["content"]
    assert '<source n="1"' in user and QUESTION in user
    assert answer.timings.first_token is not None and answer.timings.first_token < answer.timings.generation


def test_a_follow_up_sends_the_previous_turn(searcher: Searcher, proxy: RecordingProxy) -> None:
    chat = Chat(llm_settings(proxy.base_url), Conversations())
    first = chat.ask(searcher, AskRequest(QUESTION), lambda _: None)
    follow = chat.ask(searcher, AskRequest("And what happens when it is malformed?", first.conversation_id), print)
    assert follow.conversation_id == first.conversation_id
    messages = proxy.exchanges[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == QUESTION
    assert messages[2]["content"].strip() == first.answer.strip()[: len(messages[2]["content"].strip())]
    assert "And what happens when it is malformed?" in messages[3]["content"]


def test_cancellation_stops_the_stream(searcher: Searcher, proxy: RecordingProxy) -> None:
    chat = Chat(llm_settings(proxy.base_url, max_tokens=400), Conversations())
    cancel = threading.Event()
    deltas: list[str] = []

    def on_delta(text: str) -> None:
        deltas.append(text)
        if len(deltas) == 3:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        chat.ask(searcher, AskRequest("Describe everything the workspace says about its design."), on_delta, cancel)
    assert len(deltas) == 3, "nothing is passed on after the cancellation"
    exchange = proxy.exchanges[-1]
    # Order and outcome, not speed (a busy machine is slow): the client hung up on the stream before the
    # model finished its answer, so the proxy's next write found the connection gone.
    assert exchange.done.wait(120), "the proxy never saw the stream end"
    assert exchange.client_gone, "the client read the stream to its end instead of closing it"


def test_the_server_stopped_mid_answer_gives_the_extractive_fallback(searcher: Searcher) -> None:
    server = start_llm_server()
    chat = Chat(llm_settings(server.base_url, max_tokens=400), Conversations())
    deltas: list[str] = []

    def on_delta(text: str) -> None:
        deltas.append(text)
        if len(deltas) == 3:
            os.killpg(server.process.pid, signal.SIGKILL)  # Dies at once, mid-answer.

    try:
        answer = chat.ask(searcher, AskRequest("Describe everything about the design."), on_delta)
    finally:
        server.stop()
    assert answer.extractive and answer.fallback_reason
    # The client saw the connection go at once, instead of waiting for the stream to stall past its timeout.
    assert re.search(r"failed|stopped mid-answer", answer.fallback_reason), answer.fallback_reason
    assert "stalled" not in answer.fallback_reason
    assert "".join(deltas) == answer.answer, "the streamed text is the final answer"
    assert "so this is an extractive answer" in answer.answer
    assert answer.answer.index("so this is an extractive answer") > 0, "after the part already streamed"
    assert {c.n for c in answer.citations} == {s.n for s in answer.sources}


def test_an_endpoint_that_never_answers_falls_back_after_one_first_token_timeout(
    searcher: Searcher, silent: SilentEndpoint
) -> None:
    guard = BackendGuard("llm", LlmPolicy(retries=2))  # Retries do not apply to a timeout.
    chat = Chat(llm_settings(silent.base_url, first_token_timeout=1.0), Conversations(), guard, retries=2)
    answer = chat.ask(searcher, AskRequest(QUESTION), lambda _: None)
    guard.close()
    assert silent.accepted == 1, "one connection: the timeout was not retried"
    # The configured wait ended it (not llm.timeout, nor the default first_token_timeout of 30 s).
    assert answer.extractive and "llm.first_token_timeout (1 s)" in (answer.fallback_reason or "")
    assert answer.sources and answer.citations


def test_cancelling_while_the_endpoint_is_silent_wakes_the_blocked_read(
    searcher: Searcher, silent: SilentEndpoint
) -> None:
    """Order, not speed: the endpoint takes the request and says nothing, the answer is cancelled, and the
    read ends with GenerationCancelled instead of waiting for its own timeout of 600 s."""
    chat = Chat(llm_settings(silent.base_url, first_token_timeout=600.0, timeout=3600.0), Conversations())
    cancel = Cancellation()

    def cancel_once_asked() -> None:
        deadline = time.monotonic() + 120  # A deadline for the request to arrive, not a speed.
        while silent.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        cancel.set()

    rescued = threading.Event()

    def rescue() -> None:  # Only against a hang: hanging up on the client ends a read the cancellation did not.
        rescued.set()
        silent.close()

    threading.Thread(target=cancel_once_asked, daemon=True).start()
    watchdog = threading.Timer(180, rescue)
    watchdog.start()
    try:
        with pytest.raises(GenerationCancelled):
            chat.ask(searcher, AskRequest(QUESTION), lambda _: None, cancel)
    finally:
        watchdog.cancel()
    assert silent.accepted == 1, "the request reached the silent endpoint before the cancellation"
    assert not rescued.is_set(), "the blocked read was never woken by the cancellation"


def test_a_refused_connection_falls_back_and_the_open_breaker_keeps_the_next_question_away(
    searcher: Searcher, proxy: RecordingProxy
) -> None:
    guard = BackendGuard("llm", LlmPolicy(failure_threshold=1, reset_timeout=60, retries=0))
    nothing_there = f"http://127.0.0.1:{_closed_port()}/v1"
    chat = Chat(llm_settings(nothing_there), Conversations(), guard)
    refused = chat.ask(searcher, AskRequest(QUESTION), lambda _: None)
    assert refused.extractive and "ConnectError" in (refused.fallback_reason or "")
    working = Chat(llm_settings(proxy.base_url), Conversations(), guard)  # The real LLM, behind the proxy.
    refused_by_breaker = working.ask(searcher, AskRequest(QUESTION), lambda _: None)
    assert refused_by_breaker.extractive and "llm" in (refused_by_breaker.fallback_reason or "")
    assert proxy.exchanges == [], "the open breaker answered without sending the question to the LLM"
    guard.close()


def test_no_llm_configured_is_labelled_extractive(searcher: Searcher) -> None:
    answer = Chat(LlmSettings.model_validate({}), Conversations()).ask(searcher, AskRequest(QUESTION), lambda _: None)
    assert answer.extractive and answer.answer.startswith("No language model is configured")
    assert answer.to_json()["fallbackReason"] == "no language model is configured (llm.base_url)"


def test_summarize_a_file_with_the_llm_and_without(searcher: Searcher, chat_root: Path, proxy: RecordingProxy) -> None:
    root = str(chat_root)
    file = read_file(searcher, root, "src/config_loader.py", 4_000)
    assert file is not None and file.sources
    for source in file.sources:
        assert_points_at_real_text(source)
    briefing = Summarizer(llm_settings(proxy.base_url, max_tokens=160)).summarize(file)
    sent = proxy.exchanges[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user"] and '<source n="1" path="src/config_loader.py"' in sent[1][
        "content"
    ]
    # The tiny model may loop or echo the file: then the briefing is extractive and says why.
    assert (not briefing.extractive and briefing.model) or "unusable" in (briefing.fallback_reason or "")
    assert briefing.summary
    assert len(briefing.questions) == 3 and all(q.endswith("?") for q in briefing.questions)
    assert 1 <= len(briefing.topics) <= 6
    offline = Summarizer(LlmSettings.model_validate({})).summarize(file)
    assert offline.extractive and offline.fallback_reason
    assert "configuration" in offline.summary.lower()
    assert "parse_config" in offline.topics and len(offline.questions) == 3
    assert read_file(searcher, root, "no/such/file.py", 4_000) is None


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
