"""Standard LSP navigation backed by the graph and search: definition (wiki and Markdown links, then
symbols), references (every MENTION), document symbols and workspace symbols (hybrid search)."""

from __future__ import annotations

from lsprotocol import types

from localmind.lsp.convert import client_range, lsp_location, lsp_range
from localmind.lsp.features.base import Feature, contained
from localmind.lsp.features.diagnostics import NOTE_SUFFIXES
from localmind.retrieval.navigation import DocumentSymbol, link_at, word_at
from localmind.retrieval.results import Location
from localmind.retrieval.symbols import workspace_symbols
from localmind.wiring import Readers

_SYMBOL_KINDS = {
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "class": types.SymbolKind.Class,
    "interface": types.SymbolKind.Interface,
    "struct": types.SymbolKind.Struct,
    "enum": types.SymbolKind.Enum,
    "module": types.SymbolKind.Module,
    "variable": types.SymbolKind.Variable,
    "constant": types.SymbolKind.Constant,
    "type": types.SymbolKind.TypeParameter,
    "section": types.SymbolKind.String,
    "file": types.SymbolKind.File,
}
WORKSPACE_SYMBOL_LIMIT = 50


def symbol_kind(kind: str) -> types.SymbolKind:
    return _SYMBOL_KINDS.get(kind, types.SymbolKind.Object)


class NavigationFeature(Feature):
    def register(self) -> None:
        self.feature(types.TEXT_DOCUMENT_DEFINITION, self.definition)
        self.feature(types.TEXT_DOCUMENT_REFERENCES, self.references)
        self.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, self.document_symbols)
        self.feature(types.WORKSPACE_SYMBOL, self.workspace_symbols)

    @contained
    async def definition(self, params: types.DefinitionParams) -> list[types.Location] | None:
        uri = params.text_document.uri
        located = self.position(uri, params.position)
        place = self.session.locate(uri)
        if located is None or self.session.service is None:
            return None
        _, line, character = located
        is_note = uri.lower().endswith(NOTE_SUFFIXES)
        link = link_at(self.session.document(uri).source, line, character) if is_note else None
        word = word_at(located[0], character)

        def find(readers: Readers) -> list[Location]:
            if link is not None and place is not None:
                target = readers.navigator.resolve_link(place[0], place[1], link)
                if target is not None:
                    return [target]
            return readers.navigator.definitions(word) if word else []

        found = await self.session.read(find)
        return [lsp_location(self.server.workspace, loc) for loc in found] or None

    @contained
    async def references(self, params: types.ReferenceParams) -> list[types.Location] | None:
        uri = params.text_document.uri
        located = self.position(uri, params.position)
        if located is None or self.session.service is None:
            return None
        word = word_at(located[0], located[2])
        if not word:
            return None
        include = params.context.include_declaration
        found = await self.session.read(lambda readers: readers.navigator.references(word, include))
        return [lsp_location(self.server.workspace, loc) for loc in found] or None

    @contained
    async def document_symbols(self, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        uri = params.text_document.uri
        place = self.session.locate(uri)
        if place is None:
            return None
        root, rel_path = place
        found = await self.session.read(lambda readers: readers.navigator.document_symbols(root, rel_path))
        return [self._document_symbol(uri, symbol) for symbol in found]

    def _document_symbol(self, uri: str, symbol: DocumentSymbol) -> types.DocumentSymbol:
        workspace = self.server.workspace
        return types.DocumentSymbol(
            name=symbol.name or "(unnamed)",
            kind=symbol_kind(symbol.kind),
            range=client_range(workspace, uri, symbol.range),
            selection_range=client_range(workspace, uri, symbol.selection_range),
            detail=symbol.detail,
            children=[self._document_symbol(uri, child) for child in symbol.children],
        )

    @contained
    async def workspace_symbols(self, params: types.WorkspaceSymbolParams) -> list[types.WorkspaceSymbol] | None:
        if self.session.service is None:
            return None
        query = params.query
        hits = await self.session.read(
            lambda readers: workspace_symbols(readers.searcher, query, limit=WORKSPACE_SYMBOL_LIMIT)
        )
        return [
            types.WorkspaceSymbol(
                name=hit.name,
                kind=symbol_kind(hit.kind),
                location=types.Location(uri=hit.location.uri, range=lsp_range(hit.location.range)),
                container_name=hit.container,
            )
            for hit in hits
        ]
