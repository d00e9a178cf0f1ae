"""Asking the workspace a question: retrieval → numbered sources → a prompt within the model's context
window → the answer streamed as the LLM writes it, with its citations resolved to places in files.

Two steps, on two threads, so that generation (seconds) never holds the reader thread (which answers
hovers and searches in milliseconds):

- `Chat.prepare` runs on the reader thread: hybrid retrieval (optionally scoped to a file, a folder, a
  glob or a selection), the sources numbered and deduplicated, and the prompt built (secrets masked);
- `Chat.generate` runs on a chat thread (`chat_executor()`): the LLM's answer streamed to `on_delta`
  with invented citations dropped on the way, or the extractive answer when no LLM is configured, its
  breaker is open, or it fails or times out (then `fallbackReason` says why). A `cancel` event stops
  generation between two streamed events (a `llm.Cancellation` at once) and closes the connection.

The CLI calls `Chat.ask`, which does both on the calling thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx

from localmind.chat.citations import Citation, CitationFilter, resolve
from localmind.chat.conversations import Conversations, Turn
from localmind.chat.extractive import HEADER, fallback_header, quote_sources, render
from localmind.chat.llm import GenerationCancelled, Guard, LlmUser, StreamStats
from localmind.chat.prompt import CHARS_PER_TOKEN, Budget, Prompt, build_prompt
from localmind.chat.sources import Source, number_sources
from localmind.config import LlmSettings
from localmind.retrieval import Searcher, parse_query
from localmind.retrieval.results import Range
from localmind.secret_masking import redact

log = logging.getLogger(__name__)
T = TypeVar("T")

# The extractive answer's sources together stay within this many characters (about 1,500 tokens).
SOURCE_BUDGET_CHARS = 6_000
MAX_QUESTION_CHARS = 4_000
NO_LLM_REASON = "no language model is configured (llm.base_url)"
# Answers generated at once, across workspaces; more wait their turn (a local model is one GPU or CPU).
CHAT_WORKERS = 2


class ChatThreads:
    """Where answers are generated: one daemon thread per answer, at most `workers` running at once.

    Not a ThreadPoolExecutor: its threads are joined when the interpreter exits, so a process told to
    stop would wait for an answer still streaming (up to llm.timeout); daemon threads do not hold it.
    """

    def __init__(self, workers: int = CHAT_WORKERS) -> None:
        self._slots = threading.BoundedSemaphore(workers)
        self._count = 0
        self._lock = threading.Lock()

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            with self._slots:
                if not future.set_running_or_notify_cancel():
                    return  # Cancelled while waiting for a slot.
                try:
                    future.set_result(work(*args))
                except BaseException as exc:
                    future.set_exception(exc)

        with self._lock:
            self._count += 1
            name = f"localmind-chat-{self._count}"
        threading.Thread(target=run, name=name, daemon=True).start()
        return future


_threads = ChatThreads()


def chat_executor() -> ChatThreads:
    """The process's chat threads."""
    return _threads


@dataclass(frozen=True)
class Selection:
    """Text the user selected in the editor, asked about: it becomes source [1], at its exact range."""

    path: str
    uri: str
    range: Range
    text: str


@dataclass(frozen=True)
class AskRequest:
    question: str
    conversation_id: str | None = None
    path: str | None = None
    root: str | None = None
    k: int = 6
    selection: Selection | None = None


@dataclass
class Timings:
    """Seconds spent in each step of one answer."""

    retrieval: float = 0.0
    prompt: float = 0.0
    first_token: float | None = None  # From the start of generation.
    generation: float = 0.0

    @property
    def total(self) -> float:
        return self.retrieval + self.prompt + self.generation

    def to_json(self) -> dict[str, float | None]:
        first = None if self.first_token is None else round(self.first_token, 4)
        return {
            "retrieval": round(self.retrieval, 4),
            "prompt": round(self.prompt, 4),
            "firstToken": first,
            "generation": round(self.generation, 4),
            "total": round(self.total, 4),
        }


@dataclass(frozen=True)
class Answer:
    answer: str
    extractive: bool
    conversation_id: str
    sources: list[Source]
    citations: list[Citation] = field(default_factory=list)
    fallback_reason: str | None = None
    model: str | None = None
    timings: Timings = field(default_factory=Timings)

    def to_json(self) -> dict[str, object]:
        value: dict[str, object] = {
            "answer": self.answer,
            "extractive": self.extractive,
            "conversationId": self.conversation_id,
            "sources": [source.to_json() for source in self.sources],
            "citations": [citation.to_json() for citation in self.citations],
        }
        if self.fallback_reason is not None:
            value["fallbackReason"] = self.fallback_reason
        if self.model is not None:
            value["model"] = self.model
        return value


@dataclass(frozen=True)
class Prepared:
    """What retrieval found and the prompt made of it, handed from the reader to a chat thread."""

    request: AskRequest
    conversation_id: str
    history: list[Turn]
    sources: list[Source]  # For the extractive answer.
    prompt: Prompt | None  # For the LLM; None when none is configured.
    timings: Timings

    @property
    def budget(self) -> Budget | None:
        return None if self.prompt is None else self.prompt.budget


class Chat(LlmUser):
    """Grounded answers for one workspace service: its LLM settings, conversations and LLM guard."""

    def __init__(
        self,
        llm: LlmSettings,
        conversations: Conversations,
        guard: Guard | None = None,
        retries: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(llm, guard, retries, transport)
        self.conversations = conversations

    def ask(
        self,
        searcher: Searcher,
        request: AskRequest,
        on_delta: Callable[[str], None],
        cancel: threading.Event | None = None,
    ) -> Answer:
        """Retrieve, then generate, on the calling thread."""
        return self.generate(self.prepare(searcher, request), on_delta, cancel)

    def prepare(self, searcher: Searcher, request: AskRequest) -> Prepared:
        """Retrieval and prompt building; runs on the reader thread (it uses the searcher's connection)."""
        timings = Timings()
        started = time.perf_counter()
        conversation_id, turns = self.conversations.history(request.conversation_id)
        query = parse_query(
            query=_retrieval_text(request.question, turns), k=request.k, path=request.path, root=request.root
        )
        hits = searcher.search(query)
        texts = chunk_texts(searcher, [hit.chunk_id for hit in hits])
        budget_chars = int(self.llm.context_tokens * CHARS_PER_TOKEN) if self.configured else SOURCE_BUDGET_CHARS
        sources = number_sources(hits, texts, budget_chars)
        if request.selection is not None:
            sources = with_selection(request.selection, sources)
        timings.retrieval = time.perf_counter() - started
        started = time.perf_counter()
        prompt = None
        if self.configured:
            prompt = build_prompt(request.question, sources, turns, self.llm.context_tokens, self.llm.max_tokens)
            sources = prompt.sources
        timings.prompt = time.perf_counter() - started
        return Prepared(request, conversation_id, turns, sources, prompt, timings)

    def generate(
        self, prepared: Prepared, on_delta: Callable[[str], None], cancel: threading.Event | None = None
    ) -> Answer:
        """The answer, streamed to on_delta; raises GenerationCancelled when cancel is set meanwhile."""
        cancel = cancel or threading.Event()
        started = time.perf_counter()
        if prepared.prompt is None:
            answer = self._extractive(prepared, [], HEADER, NO_LLM_REASON, on_delta)
        else:
            answer = self._generated(prepared, prepared.prompt, on_delta, cancel)
        answer.timings.generation = time.perf_counter() - started
        self.conversations.record(answer.conversation_id, Turn(prepared.request.question, answer.answer))
        return answer

    def _generated(
        self, prepared: Prepared, prompt: Prompt, on_delta: Callable[[str], None], cancel: threading.Event
    ) -> Answer:
        citations = CitationFilter({source.n for source in prompt.sources})
        pieces: list[str] = []

        def emit(text: str) -> None:
            if text:
                pieces.append(text)
                on_delta(text)

        stats = StreamStats()
        try:
            for delta in self.client().stream(prompt.messages, cancel, stats):
                emit(citations.feed(delta))
            emit(citations.flush())
        except GenerationCancelled:
            raise
        except Exception as exc:  # Any failure of the LLM (or its guard) ends in the extractive answer.
            if cancel.is_set():
                raise GenerationCancelled("the answer was cancelled") from None
            reason = str(exc) or type(exc).__name__
            log.warning("answering without the language model: %s", reason)
            emit(citations.flush())
            return self._extractive(prepared, pieces, fallback_header(reason), reason, on_delta)
        text = "".join(pieces)
        if not text.strip():
            reason = "the language model returned an empty answer"
            return self._extractive(prepared, pieces, fallback_header(reason), reason, on_delta)
        timings = prepared.timings
        timings.first_token = stats.first_token_s
        return Answer(
            text,
            False,
            prepared.conversation_id,
            prompt.sources,
            resolve(text, prompt.sources),
            model=stats.model or self.llm.model,
            timings=timings,
        )

    def _extractive(
        self,
        prepared: Prepared,
        pieces: list[str],
        header: str,
        reason: str,
        on_delta: Callable[[str], None],
    ) -> Answer:
        """The best passages quoted, after whatever part of a generated answer was already streamed. The
        answer's sources are the quoted ones, narrowed to the lines quoted (after a generated part: the
        sources cited anywhere in the answer, as the model saw them)."""
        quotes = quote_sources(prepared.sources, prepared.request.question)
        parts: Iterable[str] = render(quotes, header)
        generated = bool("".join(pieces).strip())
        if generated:
            parts = ["\n\n---\n", *parts]
        for part in parts:
            pieces.append(part)
            on_delta(part)
        text = "".join(pieces)
        if generated:  # The generated part's citations number the sources it saw: keep those it cites.
            cited = {citation.n for citation in resolve(text, prepared.sources)}
            sources = [source for source in prepared.sources if source.n in cited]
        else:
            sources = [quote.source for quote in quotes]
        return Answer(
            text,
            True,
            prepared.conversation_id,
            sources,
            resolve(text, sources),
            fallback_reason=reason,
            timings=prepared.timings,
        )


def with_selection(selection: Selection, sources: list[Source]) -> list[Source]:
    """The selection as source [1] (secrets masked), then the others renumbered."""
    text = redact(selection.text)[0]
    snippet = next((line.strip() for line in text.split("\n") if line.strip()), "")[:200]
    first = Source(1, selection.path, selection.uri, selection.range, snippet, text)
    return [first, *(replace(source, n=number) for number, source in enumerate(sources, 2))]


def _retrieval_text(question: str, turns: list[Turn]) -> str:
    """A follow-up ("and where is it tested?") is searched together with the previous question."""
    previous = turns[-1].question if turns else ""
    return f"{previous} {question}".strip()[: 2 * MAX_QUESTION_CHARS]


def chunk_texts(searcher: Searcher, chunk_ids: list[str]) -> dict[str, str]:
    """The stored text of each of these chunks."""
    return searcher.reads.chunk_texts(chunk_ids)
