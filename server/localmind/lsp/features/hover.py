"""Hover: a knowledge card for the word or symbol under the cursor, in any file type."""

from __future__ import annotations

from lsprotocol import types

from localmind.lsp.features.base import Feature, quiet
from localmind.retrieval.cards import build_card, render_markdown
from localmind.retrieval.navigation import word_at
from localmind.service import Readers


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
            return None if found is None or found.is_empty() else render_markdown(found)

        markdown = await self.session.read(card)
        if markdown is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))
