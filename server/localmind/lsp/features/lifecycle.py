"""Initialisation, settings, workspace folders and shutdown."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from localmind.lsp.features.base import Feature
from localmind.lsp.features.indexing import IndexingFeature
from localmind.lsp.logs import ClientLogHandler, forward_to_client, stop_forwarding
from localmind.lsp.server import LocalMindProtocol, LocalMindServer
from localmind.lsp.session import Session

log = logging.getLogger(__name__)


class LifecycleFeature(Feature):
    def __init__(self, server: LocalMindServer, session: Session, indexing: IndexingFeature) -> None:
        super().__init__(server, session)
        self.indexing = indexing
        self.log_handler: ClientLogHandler | None = None
        # One reconfiguration at a time: eglot sends didChangeConfiguration right after `initialized`, and two
        # at once would each build a service (one never closed), each tell a settings problem, and each ask
        # for an indexing run, the second cutting the first pass short.
        self._reconfiguring = asyncio.Lock()

    def register(self) -> None:
        self.feature(types.INITIALIZE, self.initialize)
        self.feature(types.INITIALIZED, self.initialized)
        self.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION, self.configuration_changed)
        self.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, self.folders_changed)
        self.feature(types.SHUTDOWN, self.shutdown)

    def initialize(self, params: types.InitializeParams) -> None:
        self.session.remember_init_options(params.initialization_options)

    async def initialized(self, params: types.InitializedParams) -> None:
        self.log_handler = forward_to_client(self.server)
        await self._reconfigure(force_index=True)
        await self._watch_files()

    async def configuration_changed(self, params: types.DidChangeConfigurationParams) -> None:
        await self._reconfigure(force_index=False)

    async def folders_changed(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        await self._reconfigure(force_index=False)

    def shutdown(self, params: None) -> None:
        if isinstance(self.server.protocol, LocalMindProtocol):
            self.server.protocol.cancel_other_requests()
        stop_forwarding(self.log_handler)
        self.indexing.stop()  # Closing the service waits for the running pass: it must end early.
        self.session.close()

    async def _reconfigure(self, force_index: bool) -> None:
        async with self._reconfiguring:
            await self.session.pull_settings()
            # Building a service opens (or creates) the store and may close the old one: off the event loop.
            changed = await asyncio.to_thread(self.session.apply)
        if self.session.service is None:
            log.warning("no workspace folder is open; Local Mind has nothing to index")
        elif changed or force_index:
            self.indexing.schedule(delay=0)

    async def _watch_files(self) -> None:
        """Ask the client to send file changes when it can register watchers dynamically."""
        workspace = self.server.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if watched is None or not watched.dynamic_registration:
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
        )
        registration = types.Registration(
            id="localmind-watch", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        try:
            await self.server.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception as exc:  # Saves still trigger indexing when watchers cannot be registered.
            log.info("file watchers not registered: %s", exc)
