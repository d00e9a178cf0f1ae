"""Custom commands through workspace/executeCommand, as docs/protocol.md describes them."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from localmind.lsp.convert import hit_json
from localmind.lsp.errors import request_failed
from localmind.lsp.features.base import Feature, contained
from localmind.lsp.features.indexing import IndexingFeature
from localmind.lsp.server import LocalMindServer
from localmind.lsp.session import Session
from localmind.retrieval import SearchHit, parse_query
from localmind.service import Readers

SEARCH = "localmind.search"
RELATED = "localmind.related"
REINDEX = "localmind.reindex"
STATUS = "localmind.status"
ASK = "localmind.ask"
# Partial results go out in batches of this many hits.
PARTIAL_BATCH = 10
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

    @contained
    async def search(self, *arguments: Any) -> list[dict[str, Any]]:
        request = _one_object(SEARCH, arguments)
        token = request.pop("partialResultToken", None)
        unknown = set(request) - _SEARCH_FIELDS
        if unknown:
            raise JsonRpcInvalidParams(f"{SEARCH}: unknown field(s) {', '.join(sorted(unknown))}")
        query = parse_query(**request)
        hits = await self.session.read(lambda readers: readers.searcher.search(query))
        results = [hit_json(hit) for hit in hits]
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
        base: dict[str, Any] = {"settings_problem": self.session.settings_problem}
        if service is None:
            return {**base, "roots": [], "message": "no workspace folder is open"}
        return {**base, **await self.session.read(lambda readers: service.status_of(readers))}

    @contained
    async def ask(self, *arguments: Any) -> None:
        raise request_failed(f"{ASK} is reserved for grounded chat, which this version of Local Mind does not provide")


def _one_object(command: str, arguments: tuple[Any, ...]) -> dict[str, Any]:
    if len(arguments) != 1 or not isinstance(arguments[0], dict):
        raise JsonRpcInvalidParams(f"{command} takes one object argument, as docs/protocol.md describes")
    return dict(arguments[0])
