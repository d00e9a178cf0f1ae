"""Editor features, one small class per concern. Each registers its own handlers on the server."""

from __future__ import annotations

from localmind.lsp.features.commands import CommandsFeature
from localmind.lsp.features.diagnostics import DiagnosticsFeature
from localmind.lsp.features.hover import HoverFeature
from localmind.lsp.features.indexing import IndexingFeature
from localmind.lsp.features.lifecycle import LifecycleFeature
from localmind.lsp.features.navigation import NavigationFeature
from localmind.lsp.server import LocalMindServer
from localmind.lsp.session import Session


def register_all(server: LocalMindServer, session: Session) -> None:
    indexing = IndexingFeature(server, session)
    diagnostics = DiagnosticsFeature(server, session)
    indexing.after_run.append(diagnostics.refresh_open_documents)
    for feature in (
        LifecycleFeature(server, session, indexing),
        indexing,
        diagnostics,
        HoverFeature(server, session),
        NavigationFeature(server, session),
        CommandsFeature(server, session, indexing),
    ):
        feature.register()
