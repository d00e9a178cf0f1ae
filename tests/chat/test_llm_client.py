"""The streaming LLM client against scripted endpoints (httpx.MockTransport): SSE frames split anywhere,
keep-alive comments, malformed lines, errors, cancellation, the API key, and the resilience guard."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from localmind.chat.ask import ChatThreads
from localmind.chat.llm import Cancellation, GenerationCancelled, LlmClient, LlmError, LlmTimeout, Message, StreamStats
from localmind.config import LlmPolicy, LlmSettings
from localmind.resilience import BackendGuard, BackendUnavailable

MESSAGES = [Message("user", "hi")]


def chunk(text: str | None = None, finish: str | None = None) -> str:
    delta = {} if text is None else {"content": text}
    payload = {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(payload)}\n\n"


class Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes], on_piece: threading.Event | None = None) -> None:
        self.pieces = pieces
        self.on_piece = on_piece
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    def close(self) -> None:
        self.closed = True


def endpoint(
    body: str | list[bytes], status: int = 200, seen: list[httpx.Request] | None = None
) -> httpx.MockTransport:
    pieces = [body.encode()] if isinstance(body, str) else body

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        content_type = "text/event-stream" if status < 400 else "application/json"
        return httpx.Response(status, headers={"content-type": content_type}, stream=Pieces(pieces))

    return httpx.MockTransport(handle)


def settings(**values: object) -> LlmSettings:
    return LlmSettings(base_url="http://127.0.0.1:9/v1", **values)  # type: ignore[arg-type]


def collect(client: LlmClient, stats: StreamStats | None = None) -> str:
    return "".join(client.stream(MESSAGES, stats=stats))


def test_frames_split_anywhere_are_joined() -> None:
    body = chunk(None) + chunk("Hello") + chunk(", wor") + chunk("ld") + chunk(None, "stop") + "data: [DONE]\n\n"
    raw = body.encode()
    for size in (1, 3, 7, 64):
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        stats = StreamStats()
        assert collect(LlmClient(settings(), transport=endpoint(pieces)), stats) == "Hello, world"
        assert stats.deltas == 3 and stats.finish_reason == "stop" and stats.model == "m"


def test_crlf_line_ends_and_a_cr_split_from_its_lf() -> None:
    raw = (chunk("a") + chunk("b") + "data: [DONE]\n\n").replace("\n", "\r\n").encode()
    cut = raw.index(b"\r") + 1
    assert collect(LlmClient(settings(), transport=endpoint([raw[:cut], raw[cut:]]))) == "ab"


def test_keep_alives_comments_and_malformed_lines_are_skipped() -> None:
    body = (
        ": keep-alive\n\n"
        + chunk("one")
        + ":\n\n"
        + "data: {not json\n\n"
        + "data: [1, 2]\n\n"
        + 'data: {"choices": "nope"}\n\n'
        + "garbage without a colon\n\n"
        + "event: ping\ndata: \n\n"
        + chunk(" two")
        + "data: [DONE]\n\n"
    )
    stats = StreamStats()
    assert collect(LlmClient(settings(), transport=endpoint(body)), stats) == "one two"
    assert stats.skipped_lines == 2


def test_a_finish_reason_ends_the_answer_without_done() -> None:
    body = chunk("x") + chunk(None, "length") + chunk("never")
    stats = StreamStats()
    assert collect(LlmClient(settings(), transport=endpoint(body)), stats) == "x"
    assert stats.finish_reason == "length"


def test_a_stream_that_ends_early_is_an_error() -> None:
    with pytest.raises(LlmError, match="stopped mid-answer"):
        collect(LlmClient(settings(), transport=endpoint(chunk("partial"))))


def test_http_errors_and_error_events_are_errors() -> None:
    with pytest.raises(LlmError, match="HTTP 400") as caught:
        collect(LlmClient(settings(), transport=endpoint('{"error": "context too long"}', status=400)))
    assert not caught.value.transient
    with pytest.raises(LlmError, match="HTTP 503") as caught:
        collect(LlmClient(settings(), transport=endpoint("busy", status=503)))
    assert caught.value.transient
    with pytest.raises(LlmError, match="model not loaded"):
        collect(LlmClient(settings(), transport=endpoint('data: {"error": {"message": "model not loaded"}}\n\n')))


def test_a_whole_json_completion_is_one_piece_and_anything_else_an_error() -> None:
    whole = {"model": "m", "choices": [{"message": {"role": "assistant", "content": "all at once"}}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=whole))
    assert collect(LlmClient(settings(), transport=transport)) == "all at once"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"choices": []}))
    with pytest.raises(LlmError, match="something else than a completion"):
        collect(LlmClient(settings(), transport=transport))
    html = httpx.MockTransport(lambda request: httpx.Response(200, html="<html>a login page</html>"))
    with pytest.raises(LlmError, match="did not stream"):
        collect(LlmClient(settings(), transport=html))


def test_the_request_carries_the_settings_and_the_key_only_in_its_header() -> None:
    seen: list[httpx.Request] = []
    key = "sk-test-1234567890abcdef1234567890"
    client = LlmClient(
        settings(api_key=SecretStr(key), model="qwen", temperature=0.0, max_tokens=77),
        transport=endpoint(chunk("ok") + "data: [DONE]\n\n", seen=seen),
    )
    collect(client)
    request = seen[0]
    assert str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {key}"
    body = json.loads(request.content)
    assert body == {
        "model": "qwen",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.0,
        "max_tokens": 77,
        "stream": True,
    }
    assert key not in repr(client.settings) and key not in str(client.settings.model_dump())


def test_cancellation_stops_between_events_and_closes_the_stream() -> None:
    stream = Pieces([chunk(str(n)).encode() for n in range(100)])
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
    )
    cancel = threading.Event()
    received = []
    with pytest.raises(GenerationCancelled):
        for delta in LlmClient(settings(), transport=transport).stream(MESSAGES, cancel):
            received.append(delta)
            if len(received) == 3:
                cancel.set()
    assert received == ["0", "1", "2"] and stream.closed


def test_connection_refused_is_a_transient_error_and_retried_before_the_first_token() -> None:
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=chunk("ok") + "data: [DONE]\n\n")

    assert collect(LlmClient(settings(), retries=1, transport=httpx.MockTransport(handle))) == "ok"
    assert len(calls) == 2

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(LlmError, match="ConnectError") as caught:
        collect(LlmClient(settings(), transport=httpx.MockTransport(refuse)))
    assert caught.value.transient


def test_a_read_timeout_before_the_first_token_names_the_setting() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(LlmTimeout, match="first_token_timeout"):
        collect(LlmClient(settings(first_token_timeout=1.0), transport=httpx.MockTransport(handle)))


def test_the_guard_counts_failures_and_refuses_while_open() -> None:
    guard = BackendGuard("llm", LlmPolicy(failure_threshold=2, reset_timeout=60))
    failing = LlmClient(settings(), guard=guard, transport=endpoint("down", status=500))
    for _ in range(2):
        with pytest.raises(LlmError):
            collect(failing)
    working = LlmClient(settings(), guard=guard, transport=endpoint(chunk("ok") + "data: [DONE]\n\n"))
    with pytest.raises(BackendUnavailable) as caught:
        collect(working)
    assert caught.value.backend == "llm"
    guard.close()


def test_a_cancelled_answer_is_no_failure_for_the_guard() -> None:
    guard = BackendGuard("llm", LlmPolicy(failure_threshold=1, reset_timeout=60))
    cancel = threading.Event()
    cancel.set()
    client = LlmClient(settings(), guard=guard, transport=endpoint(chunk("a") + chunk("b")))
    with pytest.raises(GenerationCancelled):
        collect_with(client, cancel)
    assert collect(LlmClient(settings(), guard=guard, transport=endpoint(chunk("ok") + "data: [DONE]\n\n"))) == "ok"
    guard.close()


def collect_with(client: LlmClient, cancel: threading.Event) -> str:
    return "".join(client.stream(MESSAGES, cancel))


def test_a_cancellation_runs_its_callbacks_once_set_and_forgets_on_request() -> None:
    cancel = Cancellation()
    calls: list[str] = []
    forget = cancel.on_set(lambda: calls.append("a"))
    cancel.on_set(lambda: calls.append("b"))
    forget()
    cancel.set()
    assert calls == ["b"] and cancel.is_set()
    cancel.on_set(lambda: calls.append("late"))
    assert calls == ["b", "late"], "a callback added after the fact runs at once"


def test_chat_threads_bound_the_answers_generated_at_once_and_never_hold_the_exit() -> None:
    threads = ChatThreads(workers=2)
    release = threading.Event()
    running: list[int] = []
    futures = [threads.submit(lambda n: (running.append(n), release.wait(5), n)[-1], n) for n in range(4)]
    time.sleep(0.2)
    assert len(running) == 2, "two at once; the others wait for a slot"
    assert futures[3].cancel(), "one still waiting can be cancelled"
    release.set()
    assert [f.result(timeout=5) for f in futures[:3]] == [0, 1, 2]
    names = [t for t in threading.enumerate() if t.name.startswith("localmind-chat-")]
    assert all(t.daemon for t in names)
