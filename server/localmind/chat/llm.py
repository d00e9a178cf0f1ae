"""A streaming client for any OpenAI-compatible chat-completions endpoint (llama.cpp's server, Ollama's
`/v1`, vLLM, LM Studio), over httpx with server-sent events.

The client is synchronous: it runs on a chat worker thread, never on the event loop nor on the reader
thread. `stream()` yields the answer's text piece by piece as the endpoint writes it, and stops:

- at `data: [DONE]` or a choice with a `finish_reason` (the answer is complete);
- when `cancel` is set (checked between events; with a `Cancellation`, at once, even while waiting for
  the endpoint; the connection is closed, so the endpoint sees it go and stops generating)
  → GenerationCancelled;
- when no token arrived within `first_token_timeout`, no byte within it between tokens, or the whole
  answer took longer than `timeout` → LlmTimeout;
- when the endpoint fails (refused, dropped, an HTTP error, a stream that ends without `[DONE]`) → LlmError.

Events are decoded by httpx-sse (a small maintained library that follows the WHATWG event-stream rules:
frames split across reads, `\\r\\n`/`\\r`/`\\n` line ends, `:` comment lines used as keep-alives, unknown
fields ignored); what is inside `data:` is ours to read: a line that is not the JSON we expect is
skipped and counted, never fatal, so a proxy's stray line does not end an answer.

The API key goes only into the `Authorization: Bearer` header; it is never logged nor put in an error.
With a BackendGuard (resilience), each attempt runs inside `guard.attempt()`: an open breaker raises
BackendUnavailable before any connection, and a failure counts against the endpoint. A transient
failure before the first token is retried `retries` times; after the first token it is not (the
caller already showed part of the answer), nor is a timeout (the fallback must not wait twice as long).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from httpx_sse import EventSource, SSEError

from localmind.config import LlmSettings
from localmind.errors import LocalMindError
from localmind.observability.context import correlation_headers

log = logging.getLogger(__name__)

DONE = "[DONE]"
_WRITE_TIMEOUT_S = 10.0


class LlmError(LocalMindError):
    """The endpoint failed; the message says how, for the user (never holds the API key)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # Read by resilience.is_transient.


class LlmTimeout(LlmError, TimeoutError):
    """No first token, or no complete answer, within the configured time."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class GenerationCancelled(asyncio.CancelledError):
    """The caller cancelled the answer. A CancelledError, so a guard gives its permit back without
    counting a failure, and an awaiting task sees a plain cancellation."""


class Cancellation(threading.Event):
    """A cancel event that also aborts a read in progress: while an answer is being read, setting it shuts
    the connection's socket down, so a thread blocked waiting for the endpoint (a long prompt being
    processed, a hung server) wakes at once instead of at the next event or timeout. A plain
    threading.Event works too, checked between events only."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], None]] = []
        self._callbacks_lock = threading.Lock()

    def on_set(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run callback when the event is set (now, if it already is); returns a function that forgets it."""
        with self._callbacks_lock:
            self._callbacks.append(callback)
        if self.is_set():
            callback()

        def forget() -> None:
            with self._callbacks_lock, contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return forget

    def set(self) -> None:
        super().set()
        with self._callbacks_lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()


class _Connection:
    """The sockets of one request (seen through httpcore's trace extension), shut down on cancellation."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.sockets: list[socket.socket] = []
        self._forget: Callable[[], None] = lambda: None

    def __enter__(self) -> _Connection:
        if isinstance(self.cancel, Cancellation):
            self._forget = self.cancel.on_set(self.shutdown)
        return self

    def __exit__(self, *exc: object) -> None:
        self._forget()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith("connect_tcp.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self.sockets.append(sock)
                if self.cancel.is_set():
                    self.shutdown()

    def shutdown(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Guard(Protocol):
    """What the client needs of resilience.BackendGuard."""

    def attempt(self, operation: str = "call") -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class StreamStats:
    """What one answer took; filled in as it streams."""

    started: float = field(default_factory=time.perf_counter)
    first_token_s: float | None = None
    total_s: float = 0.0
    deltas: int = 0
    skipped_lines: int = 0
    finish_reason: str | None = None
    model: str | None = None
    attempts: int = 0


class LlmClient:
    def __init__(
        self,
        settings: LlmSettings,
        guard: Guard | None = None,
        retries: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not settings.base_url:
            raise ValueError("llm.base_url is not set")
        self.settings = settings
        self.guard = guard
        self.retries = retries
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self._transport = transport

    def _client(self) -> httpx.Client:
        s = self.settings
        timeout = httpx.Timeout(
            connect=s.connect_timeout, read=min(s.first_token_timeout, s.timeout), write=_WRITE_TIMEOUT_S, pool=5.0
        )
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store", **correlation_headers()}
        if s.api_key is not None and s.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {s.api_key.get_secret_value()}"
        # trust_env=False: the endpoint is reached directly; HTTP(S)_PROXY from the environment would send
        # a local model's traffic (prompts with workspace text) through a proxy.
        return httpx.Client(timeout=timeout, headers=headers, transport=self._transport, trust_env=False)

    def payload(self, messages: list[Message], max_tokens: int | None = None) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": [message.to_json() for message in messages],
            "temperature": self.settings.temperature,
            "max_tokens": max_tokens or self.settings.max_tokens,
            "stream": True,
        }

    def stream(
        self,
        messages: list[Message],
        cancel: threading.Event | None = None,
        stats: StreamStats | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """The answer's text in pieces, as generated; raises LlmError, LlmTimeout or GenerationCancelled
        (and BackendUnavailable from the guard when its breaker is open)."""
        cancel = cancel or threading.Event()
        stats = stats or StreamStats()
        deadline = time.monotonic() + self.settings.timeout
        payload = self.payload(messages, max_tokens)
        attempt = 0
        while True:
            attempt += 1
            stats.attempts = attempt
            try:
                yield from self._attempt(payload, cancel, stats, deadline)
                return
            except LlmError as exc:
                # Timeouts are not retried: a hung endpoint must not double the wait for the fallback.
                retry = exc.transient and not isinstance(exc, LlmTimeout) and stats.deltas == 0
                retry = retry and attempt <= self.retries
                if not retry or cancel.is_set() or time.monotonic() >= deadline:
                    raise
                log.info("LLM call failed (%s); retrying (%d of %d)", exc, attempt, self.retries)
                if cancel.wait(min(0.2 * attempt, max(0.0, deadline - time.monotonic()))):
                    raise GenerationCancelled("the answer was cancelled") from None

    def _attempt(
        self, payload: dict[str, Any], cancel: threading.Event, stats: StreamStats, deadline: float
    ) -> Iterator[str]:
        guard: AbstractContextManager[None] = self.guard.attempt("chat") if self.guard else nullcontext()
        connection = _Connection(cancel)
        with guard, self._client() as client, connection:
            try:
                extensions = {"trace": connection.trace}
                with client.stream("POST", self.url, json=payload, extensions=extensions) as response:
                    _check_response(response)
                    if _media_type(response) == "application/json":  # An endpoint that does not stream.
                        yield from self._whole(response, stats)
                        return
                    yield from self._events(EventSource(response), cancel, stats, deadline)
            except httpx.TimeoutException as exc:
                if cancel.is_set():
                    raise GenerationCancelled("the answer was cancelled") from None
                raise self._timeout(exc, stats) from None
            except SSEError as exc:  # Before HTTPError: httpx-sse derives it from httpx.TransportError.
                raise LlmError(f"the language model at {self._where()} did not stream: {exc}") from None
            except httpx.HTTPError as exc:
                if cancel.is_set():  # The socket was shut down by the cancellation.
                    raise GenerationCancelled("the answer was cancelled") from None
                raise LlmError(f"the language model at {self._where()} failed: {_describe(exc)}", True) from None

    def _whole(self, response: httpx.Response, stats: StreamStats) -> Iterator[str]:
        """A complete (non-streamed) chat completion, as one piece."""
        response.read()
        try:
            body = response.json()
            choice = body["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmError(f"the language model at {self._where()} answered something else than a completion") from None
        if not isinstance(text, str):
            raise LlmError(f"the language model at {self._where()} answered something else than a completion")
        stats.model = body.get("model") if isinstance(body.get("model"), str) else None
        stats.finish_reason = choice.get("finish_reason") or "stop"
        stats.first_token_s = time.perf_counter() - stats.started
        stats.total_s = stats.first_token_s
        if text:
            stats.deltas += 1
            yield text

    def _events(
        self, source: EventSource, cancel: threading.Event, stats: StreamStats, deadline: float
    ) -> Iterator[str]:
        first_deadline = time.monotonic() + self.settings.first_token_timeout
        for event in source.iter_sse():
            if cancel.is_set():
                raise GenerationCancelled("the answer was cancelled")
            now = time.monotonic()
            if now > deadline:
                raise LlmTimeout(f"the language model did not finish within llm.timeout ({self.settings.timeout:g} s)")
            if stats.deltas == 0 and now > first_deadline:  # Keep-alives or empty events, but no token.
                raise LlmTimeout(self._first_token_message())
            data = event.data.strip()
            if not data:
                continue
            if data == DONE:
                stats.finish_reason = stats.finish_reason or "stop"
                break
            text, finished = self._delta(data, stats)
            if text:
                if stats.first_token_s is None:
                    stats.first_token_s = time.perf_counter() - stats.started
                stats.deltas += 1
                yield text
            if finished:
                break
        else:
            if cancel.is_set():
                raise GenerationCancelled("the answer was cancelled")
            raise LlmError(f"the language model at {self._where()} stopped mid-answer (the stream ended early)", True)
        stats.total_s = time.perf_counter() - stats.started

    def _delta(self, data: str, stats: StreamStats) -> tuple[str, bool]:
        """The text of one `data:` payload and whether it ends the answer; malformed payloads are skipped."""
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            stats.skipped_lines += 1
            log.debug("skipped a malformed event from the language model (%d characters)", len(data))
            return "", False
        if not isinstance(chunk, dict):
            stats.skipped_lines += 1
            return "", False
        if isinstance(chunk.get("error"), dict | str):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise LlmError(f"the language model reported an error: {str(message)[:300]}")
        if isinstance(chunk.get("model"), str):
            stats.model = chunk["model"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return "", False
        choice = choices[0]
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else None
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            stats.finish_reason = finish
        return (text if isinstance(text, str) else ""), bool(finish)

    def _timeout(self, exc: httpx.TimeoutException, stats: StreamStats) -> LlmTimeout:
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return LlmTimeout(
                f"could not connect to the language model at {self._where()} within "
                f"llm.connect_timeout ({self.settings.connect_timeout:g} s)"
            )
        if stats.deltas == 0:
            return LlmTimeout(self._first_token_message())
        return LlmTimeout(
            f"the language model stalled mid-answer for more than {self.settings.first_token_timeout:g} s"
        )

    def _first_token_message(self) -> str:
        return (
            f"the language model at {self._where()} sent no answer within "
            f"llm.first_token_timeout ({self.settings.first_token_timeout:g} s)"
        )

    def _where(self) -> str:
        """The endpoint without user information or query (a URL may carry credentials)."""
        url = httpx.URL(self.url)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}{url.path}"


def _check_response(response: httpx.Response) -> None:
    if response.status_code >= 400:
        response.read()
        detail = response.text[:300].replace("\n", " ")
        transient = response.status_code in {408, 425, 429, 500, 502, 503, 504}
        raise LlmError(f"the language model answered HTTP {response.status_code}: {detail}", transient)


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.partition(";")[0].strip().lower()


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


class LlmUser:
    """What asking and summarising share: the LLM settings, the guard, how often a failure before the first
    token is retried, and (for tests) an HTTP transport."""

    def __init__(
        self,
        llm: LlmSettings,
        guard: Guard | None = None,
        retries: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.llm = llm
        self.guard = guard
        self.retries = retries
        self.transport = transport

    @property
    def configured(self) -> bool:
        return bool(self.llm.base_url)

    def client(self) -> LlmClient:
        return LlmClient(self.llm, self.guard, self.retries, self.transport)
