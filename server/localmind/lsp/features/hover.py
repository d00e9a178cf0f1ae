"""Hover: a knowledge card for the word or symbol under the cursor, in any file type."""

from __future__ import annotations

from lsprotocol import types

from localmind.lsp.convert import degraded_note
from localmind.lsp.features.base import Feature, quiet
from localmind.retrieval.cards import CARD_LINES, build_card, markdown_to_plaintext, render_markdown
from localmind.retrieval.navigation import word_at
from localmind.wiring import Readers

# Seconds a hover's backend calls (Milvus, Neo4j, the embedder) may take in all: a slow or frozen server
# costs a hover at most this, then the card is built from the other signals.
HOVER_BACKEND_BUDGET = 0.1


class HoverFeature(Feature):
    def register(self) -> None:
        self.feature(types.TEXT_DOCUMENT_HOVER, self.hover)

    @quiet(default=None)
    async def hover(self, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        located = self.position(uri, params.position)
        if located is None or self.session.service is None:
            return None
        line_text, _, character = located
        word = word_at(line_text, character)
        if not word:
            return None

        def card(readers: Readers) -> str | None:
            found = build_card(readers.searcher, word, from_uri=uri)
            if found is None or found.is_empty():
                return None
            note = degraded_note(readers.searcher.left_out())
            # The note takes the room of the card's last lines, so the hover still fits without scrolling.
            return render_markdown(found, CARD_LINES - note.count("\n")) + note

        markdown = await self.session.read(card, budget=HOVER_BACKEND_BUDGET)
        if markdown is None:
            return None
        if not self._client_renders_markdown():
            plain = markdown_to_plaintext(markdown)
            return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain))
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))

    def _client_renders_markdown(self) -> bool:
        """Whether the client's hover accepts Markdown; one that lists only plaintext (eglot without
        markdown-mode) gets plain text. A client that says nothing gets Markdown, as LSP clients expect."""
        text_document = self.server.client_capabilities.text_document
        hover = text_document.hover if text_document is not None else None
        formats = hover.content_format if hover is not None else None
        return not formats or types.MarkupKind.Markdown in formats
