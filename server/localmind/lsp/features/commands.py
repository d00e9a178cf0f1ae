"""Custom commands through workspace/executeCommand, as docs/protocol.md describes them."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cattrs.errors import BaseValidationError
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from localmind.chat.ask import MAX_QUESTION_CHARS, AskRequest, Selection, chat_executor
from localmind.chat.llm import Cancellation
from localmind.chat.summarize import read_file
from localmind.lsp.convert import degraded_roles, hit_json
from localmind.lsp.errors import request_failed
from localmind.lsp.features.base import Feature, contained
from localmind.lsp.features.indexing import IndexingFeature
from localmind.lsp.protocol import ASK, PARTIAL_BATCH, REINDEX, RELATED, SEARCH, STATUS, SUMMARIZE
from localmind.lsp.server import LocalMindProtocol, LocalMindServer
from localmind.lsp.session import Session
from localmind.observability.context import carry
from localmind.retrieval import SearchHit, parse_query
from localmind.retrieval.results import Position, Range
from localmind.wiring import Readers

_CONVERTER = get_converter()
T = TypeVar("T")
_SEARCH_FIELDS = {"query", "k", "path", "kind", "language", "root"}


class CommandsFeature(Feature):
    def __init__(self, server: LocalMindServer, session: Session, indexing: IndexingFeature) -> None:
        super().__init__(server, session)
        self.indexing = indexing

    def register(self) -> None:
        self.command(SEARCH, self.search)
        self.command(RELATED, self.related)
        self.command(REINDEX, self.reindex)
        self.command(STATUS, self.status)
        self.command(ASK, self.ask)
        self.command(SUMMARIZE, self.summarize)

    @contained
    async def search(self, *arguments: Any) -> list[dict[str, Any]]:
        request = _one_object(SEARCH, arguments)
        token = request.pop("partialResultToken", None)
        unknown = set(request) - _SEARCH_FIELDS
        if unknown:
            raise JsonRpcInvalidParams(f"{SEARCH}: unknown field(s) {', '.join(sorted(unknown))}")
        query = parse_query(**request)

        def search(readers: Readers) -> tuple[list[SearchHit], list[str]]:
            return readers.searcher.search(query), degraded_roles(readers.searcher.left_out())

        hits, degraded = await self.session.read(search)
        results = [hit_json(hit) | ({"degraded": degraded} if degraded else {}) for hit in hits]
        if isinstance(token, int | str) and results:
            for start in range(0, len(results), PARTIAL_BATCH):
                self.server.progress(types.ProgressParams(token=token, value=results[start : start + PARTIAL_BATCH]))
            return []  # With partial results the final answer is empty: the client has every hit already.
        return results

    @contained
    async def related(self, *arguments: Any) -> list[dict[str, Any]]:
        argument = arguments[0] if len(arguments) == 1 else None
        uri = argument.get("uri") if isinstance(argument, dict) else argument
        k = argument.get("k", 10) if isinstance(argument, dict) else 10
        if not isinstance(uri, str) or not isinstance(k, int) or not 1 <= k <= 100:
            raise JsonRpcInvalidParams(f'{RELATED} takes a document URI or {{"uri": str, "k"?: 1..100}}')
        place = self.session.locate(uri)
        if place is None:
            raise request_failed(f"{to_fs_path(uri) or uri} is not inside an open workspace folder")
        root, rel_path = place

        def related(readers: Readers) -> list[SearchHit]:
            file_id = readers.navigator.file_of(root, rel_path)
            return readers.searcher.related(file_id, k) if file_id else []

        return [hit_json(hit) for hit in await self.session.read(related)]

    @contained
    async def reindex(self, *arguments: Any) -> dict[str, Any]:
        self.session.require_service()
        self.indexing.schedule(delay=0)
        return {"scheduled": True}

    @contained
    async def status(self, *arguments: Any) -> dict[str, Any]:
        service = self.session.service
        protocol = self.server.protocol
        limited = dict(protocol.rate_limited) if isinstance(protocol, LocalMindProtocol) else {}
        base: dict[str, Any] = {"settings_problem": self.session.settings_problem, "rate_limited": limited}
        if service is None:
            return {**base, "roots": [], "message": "no workspace folder is open"}
        return {**base, **await self.session.read(lambda readers: service.status_of(readers))}

    @contained
    async def ask(self, *arguments: Any) -> dict[str, Any]:
        """Retrieval and the prompt on the reader thread, then generation on a chat thread (so hovers and
        searches go on meanwhile); the answer streams as partial results `{"delta": text}`. Cancelling
        the request stops generation."""
        request = _one_object(ASK, arguments)
        token = request.pop("partialResultToken", None)
        work_done = request.pop("workDoneToken", None)
        service = self.session.require_service()
        ask_request = self._ask_request(request)
        chat = service.chat()
        loop = asyncio.get_running_loop()

        def on_delta(text: str) -> None:
            if isinstance(token, int | str):
                params = types.ProgressParams(token=token, value={"delta": text})
                loop.call_soon_threadsafe(self.server.progress, params)

        progress = _WorkDone(self.server, work_done, "Local Mind: answering")
        try:
            prepared = await self.session.read(lambda readers: chat.prepare(readers.searcher, ask_request))
            if chat.configured:
                progress.report(f"writing the answer with {service.settings.llm.model}")
            answer = await _on_chat_thread(lambda cancel: chat.generate(prepared, on_delta, cancel))
        finally:
            progress.end()
        return answer.to_json()

    @contained
    async def summarize(self, *arguments: Any) -> dict[str, Any]:
        """A briefing on one indexed file: summary, topics, three questions (see docs/protocol.md)."""
        argument = arguments[0] if len(arguments) == 1 else None
        uri = argument.get("uri") if isinstance(argument, dict) else argument
        if not isinstance(uri, str) or (isinstance(argument, dict) and set(argument) - {"uri", "workDoneToken"}):
            raise JsonRpcInvalidParams(f'{SUMMARIZE} takes {{"uri": str}}')
        service = self.session.require_service()
        place = self.session.locate(uri)
        if place is None:
            raise request_failed(f"{to_fs_path(uri) or uri} is not inside an open workspace folder")
        root, rel_path = place
        summarizer = service.summarizer()
        budget = summarizer.budget_chars()
        work_done = argument.get("workDoneToken") if isinstance(argument, dict) else None
        progress = _WorkDone(self.server, work_done, "Local Mind: summarizing")
        try:
            file = await self.session.read(lambda readers: read_file(readers.searcher, str(root), rel_path, budget))
            if file is None:
                raise request_failed(f"{rel_path} is not indexed (yet): nothing to summarize")
            summary = await _on_chat_thread(lambda cancel: summarizer.summarize(file, cancel))
        finally:
            progress.end()
        return summary.to_json()

    def _ask_request(self, request: dict[str, Any]) -> AskRequest:
        unknown = set(request) - {"question", "conversationId", "scope", "k"}
        question, conversation, scope, k = (request.get(f) for f in ("question", "conversationId", "scope", "k"))
        if unknown or not isinstance(question, str) or not question.strip():
            raise JsonRpcInvalidParams(f'{ASK} takes {{"question": str, "conversationId"?, "scope"?, "k"?}}')
        if len(question) > MAX_QUESTION_CHARS or (k is not None and not (isinstance(k, int) and 1 <= k <= 20)):
            raise JsonRpcInvalidParams(f"{ASK}: question at most {MAX_QUESTION_CHARS} characters, k from 1 to 20")
        if conversation is not None and not isinstance(conversation, str):
            raise JsonRpcInvalidParams(f"{ASK}: conversationId must be a string")
        path, root = self._scope(scope)
        selection = self._selection(scope)
        return AskRequest(question, conversation, path, root, k or 6, selection)

    def _scope(self, scope: Any) -> tuple[str | None, str | None]:
        """A scope of one document becomes a literal path filter in its root; a glob stays a glob."""
        if scope is None:
            return None, None
        if not isinstance(scope, dict) or set(scope) - {"uri", "path", "range"}:
            raise JsonRpcInvalidParams(f'{ASK}: scope is {{"uri"?: str, "range"?: Range, "path"?: glob}}')
        uri, path = scope.get("uri"), scope.get("path")
        if isinstance(uri, str):
            place = self.session.locate(uri)
            if place is None:
                raise request_failed(f"{to_fs_path(uri) or uri} is not inside an open workspace folder")
            return literal_glob(place[1]), str(place[0])
        if path is not None and not isinstance(path, str):
            raise JsonRpcInvalidParams(f"{ASK}: scope.path must be a glob string")
        return path, None

    def _selection(self, scope: Any) -> Selection | None:
        """With `scope.range` (an LSP range in `scope.uri`), the selected text, read from the editor's
        copy of the document (or the file)."""
        if not isinstance(scope, dict) or scope.get("range") is None:
            return None
        uri = scope.get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams(f"{ASK}: scope.range needs scope.uri")
        try:
            span = _CONVERTER.structure(scope["range"], types.Range)
            lines = self.session.document(uri).lines
        except (OSError, ValueError, TypeError, KeyError, BaseValidationError) as exc:
            raise JsonRpcInvalidParams(f"{ASK}: scope.range must be an LSP range in a readable document") from exc
        codec = self.server.workspace.position_codec
        start = codec.position_from_client_units(lines, span.start)
        end = codec.position_from_client_units(lines, span.end)
        if (end.line, end.character) <= (start.line, start.character):
            return None  # An empty selection: the document scope alone.
        text = "".join(lines[start.line : end.line + 1])
        cut_end = len(text) - len(lines[end.line]) + end.character if end.line < len(lines) else len(text)
        text = text[start.character : cut_end]
        if not text.strip():
            return None
        place = self.session.locate(uri)
        assert place is not None  # Checked by _scope.
        result_range = Range(Position(start.line, start.character), Position(end.line, end.character))
        return Selection(place[1], (place[0] / place[1]).as_uri(), result_range, text)


async def _on_chat_thread(work: Callable[[threading.Event], T]) -> T:
    """work(cancel) on a chat thread; when the awaiting task is cancelled, `cancel` is set so that the
    work stops (between two streamed events) and the cancellation goes on."""
    cancel = Cancellation()
    future = chat_executor().submit(carry(work), cancel)  # With the request's ids, for the logs.
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        cancel.set()
        raise


class _WorkDone:
    """Work-done progress for a client that passed a `workDoneToken`: begin now, report, end once."""

    def __init__(self, server: LocalMindServer, token: Any, title: str) -> None:
        self.server = server
        self.token = token if isinstance(token, int | str) else None
        if self.token is not None:
            self._send(types.WorkDoneProgressBegin(title=title, cancellable=False))

    def report(self, message: str) -> None:
        if self.token is not None:
            self._send(types.WorkDoneProgressReport(message=message))

    def end(self) -> None:
        if self.token is not None:
            self._send(types.WorkDoneProgressEnd())
            self.token = None

    def _send(self, value: Any) -> None:
        assert self.token is not None
        self.server.progress(types.ProgressParams(token=self.token, value=value))


def literal_glob(rel_path: str) -> str:
    """A path as a gitignore pattern that matches only itself: special characters escaped, anchored."""
    return "/" + re.sub(r"([\\\[\]*?!#])", r"\\\1", rel_path)


def _one_object(command: str, arguments: tuple[Any, ...]) -> dict[str, Any]:
    if len(arguments) != 1 or not isinstance(arguments[0], dict):
        raise JsonRpcInvalidParams(f"{command} takes one object argument, as docs/protocol.md describes")
    return dict(arguments[0])
