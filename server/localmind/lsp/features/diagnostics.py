"""Diagnostics for broken wiki links (and relative Markdown links) in open notes."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from localmind.lsp.convert import lsp_range
from localmind.lsp.features.base import Feature
from localmind.lsp.server import LocalMindServer
from localmind.lsp.session import Session
from localmind.retrieval.navigation import BrokenLink

log = logging.getLogger(__name__)
NOTE_SUFFIXES = (".md", ".markdown", ".mdx", ".txt", ".rst")
SOURCE = "localmind"


class DiagnosticsFeature(Feature):
    def __init__(self, server: LocalMindServer, session: Session) -> None:
        super().__init__(server, session)
        # Running checks are kept referenced, or asyncio could collect them before they finish.
        self._checks: set[asyncio.Future[None]] = set()

    def register(self) -> None:
        self.feature(types.TEXT_DOCUMENT_DID_OPEN, self.opened)
        self.feature(types.TEXT_DOCUMENT_DID_CHANGE, self.changed)
        self.feature(types.TEXT_DOCUMENT_DID_CLOSE, self.closed)

    async def opened(self, params: types.DidOpenTextDocumentParams) -> None:
        await self.check(params.text_document.uri)

    async def changed(self, params: types.DidChangeTextDocumentParams) -> None:
        await self.check(params.text_document.uri)

    def closed(self, params: types.DidCloseTextDocumentParams) -> None:
        self._publish(params.text_document.uri, [])

    def refresh_open_documents(self) -> None:
        """After a re-index a new note can mend a link (or a deleted one break it): check again."""
        for uri in list(self.server.workspace.text_documents):
            task = asyncio.ensure_future(self.check(uri))
            self._checks.add(task)
            task.add_done_callback(self._checks.discard)

    async def check(self, uri: str) -> None:
        place = self.session.locate(uri)
        if place is None or not uri.lower().endswith(NOTE_SUFFIXES) or self.session.service is None:
            return
        root, rel_path = place
        text = self.session.document(uri).source
        try:
            broken = await self.session.read(lambda readers: readers.navigator.broken_links(root, rel_path, text))
        except Exception as exc:  # A diagnostics failure must never disturb editing.
            log.warning("link check of %s failed: %s", rel_path, exc)
            return
        self._publish(uri, broken)

    def _publish(self, uri: str, broken: list[BrokenLink]) -> None:
        diagnostics = [
            types.Diagnostic(
                range=lsp_range(link.range),
                message=link.message,
                severity=types.DiagnosticSeverity.Warning,
                source=SOURCE,
                code="broken-link",
            )
            for link in broken
        ]
        self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
