"""Editor features, one small class per concern, and the server built with all of them.

Each feature registers its own handlers; this is the one place that knows the whole list, so the server
module (protocol and error containment) imports no feature.
"""

from __future__ import annotations

from localmind.lsp.features.commands import CommandsFeature
from localmind.lsp.features.diagnostics import DiagnosticsFeature
from localmind.lsp.features.hover import HoverFeature
from localmind.lsp.features.indexing import IndexingFeature
from localmind.lsp.features.lifecycle import LifecycleFeature
from localmind.lsp.features.navigation import NavigationFeature
from localmind.lsp.server import LocalMindServer
from localmind.lsp.session import Session


def build_server() -> LocalMindServer:
    """A server with every feature registered."""
    server = LocalMindServer()
    register_all(server, Session(server))
    return server


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
