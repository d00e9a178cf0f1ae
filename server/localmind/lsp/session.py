"""One client's session: its workspace folders, its settings, and the WorkspaceService built from them.

Settings come from `initializationOptions` and from `workspace/configuration` (section `localmind`),
pulled again on `workspace/didChangeConfiguration`; invalid values fall back to the defaults with a
message the user sees. A change of folders or of settings builds a new service and re-indexes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from localmind.config import Settings, ignored_workspace_settings, load_settings
from localmind.errors import ConfigError
from localmind.lsp.convert import readable_file
from localmind.lsp.errors import NoWorkspace, request_failed
from localmind.lsp.server import LocalMindProtocol, LocalMindServer
from localmind.resilience import RateLimiter
from localmind.service import WorkspaceService
from localmind.wiring import Readers

log = logging.getLogger(__name__)
T = TypeVar("T")
SECTION = "localmind"
# Keys of initializationOptions that are not settings.
_SESSION_KEYS = ("token",)


class Session:
    def __init__(self, server: LocalMindServer) -> None:
        self.server = server
        self.service: WorkspaceService | None = None
        self.init_options: dict[str, Any] = {}
        self.editor_settings: dict[str, Any] = {}
        self.settings_problem: str | None = None
        self.trust_notices: set[Path] = set()  # Workspaces whose ignored settings the user has been told of.
        self.listeners: list[Callable[[WorkspaceService], None]] = []

    # Settings and folders ---------------------------------------------------------------------------

    def remember_init_options(self, options: Any) -> None:
        if isinstance(options, dict):
            settings = options.get(SECTION, options)
            self.init_options = {k: v for k, v in settings.items() if k not in _SESSION_KEYS}

    async def pull_settings(self) -> None:
        """Ask the client for the `localmind` section when it can answer; keep the init options otherwise."""
        capabilities = self.server.client_capabilities.workspace
        if capabilities is None or not capabilities.configuration:
            self.editor_settings = dict(self.init_options)
            return
        try:
            answer = await asyncio.wait_for(
                self.server.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
                ),
                timeout=5,
            )
        except (TimeoutError, Exception) as exc:  # A client that fails this request still gets a server.
            log.warning("workspace/configuration failed (%s); using initializationOptions", exc)
            answer = [None]
        pulled = answer[0] if answer and isinstance(answer[0], dict) else {}
        self.editor_settings = {**self.init_options, **pulled}

    def roots(self) -> list[Path]:
        folders = [Path(to_fs_path(f.uri) or "") for f in self.server.workspace.folders.values()]
        if not folders and self.server.workspace.root_path:
            folders = [Path(self.server.workspace.root_path)]
        return [f for f in folders if str(f) and f.is_dir()]

    def resolve_settings(self, roots: list[Path]) -> Settings:
        """The editor's settings over the files and environment, or those alone when the editor's are invalid."""
        workspace = roots[0] if roots else None
        try:
            settings = load_settings(workspace=workspace, overrides=_settings_only(self.editor_settings))
            self.settings_problem = None
            self._tell_ignored(workspace)
            return settings
        except ConfigError as exc:
            if str(exc) != self.settings_problem:  # The same problem pulled again is not shown again.
                self.server.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Warning,
                        message=f"Local Mind: {exc}. Using the defaults for the editor settings.",
                    )
                )
            self.settings_problem = str(exc)
            return load_settings(workspace=workspace)

    def _tell_ignored(self, workspace: Path | None) -> None:
        """Name the workspace file's settings ignored for want of trust, once per workspace."""
        if workspace is None or workspace in self.trust_notices:
            return
        self.trust_notices.add(workspace)
        ignored = ignored_workspace_settings(workspace)
        if ignored:
            log.warning("%s", ignored)
            self.server.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=f"Local Mind: {ignored}.")
            )

    def apply(self) -> bool:
        """Build a new service when the folders or the settings changed; True when it did."""
        roots = self.roots()
        settings = self.resolve_settings(roots)
        current = self.service
        if (
            current is not None
            and set(current.roots) == {root.resolve() for root in roots}
            and current.settings == settings
        ):
            return False
        # The new service replaces the old one before the old one closes (closing waits for its indexing
        # run): requests and re-indexes that arrive meanwhile go to the new one, never to executors that
        # are shutting down.
        self._apply_limits(settings)
        self.service = WorkspaceService(roots, settings) if roots else None
        if self.service is not None:
            for listener in self.listeners:
                listener(self.service)
        if current is not None:
            current.close()
        return True

    def _apply_limits(self, settings: Settings) -> None:
        protocol = self.server.protocol
        if isinstance(protocol, LocalMindProtocol) and protocol.limiter.settings != settings.limits:
            protocol.limiter = RateLimiter(settings.limits)

    # Work ---------------------------------------------------------------------------------------------

    def require_service(self) -> WorkspaceService:
        if self.service is None:
            raise NoWorkspace("no workspace folder is open: open a folder so Local Mind can index it")
        return self.service

    async def read(self, work: Callable[[Readers], T], budget: float | None = None) -> T:
        """Run work on the service's reader thread; cancelling the awaiting task drops it if not started.
        Backend calls it makes end within `budget` seconds (see WorkspaceService.read). Work that a settings
        change dropped (its service closed before the work started) runs again on the new service, so the
        request still gets its answer."""
        service = self.require_service()
        try:
            return await asyncio.wrap_future(service.read(work, budget))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # The request itself was cancelled.
                raise
            if self.service is not None and self.service is not service:
                return await self.read(work, budget)
            raise request_failed("the workspace closed before the request could be answered") from None

    def document(self, uri: str) -> TextDocument:
        """An open document as the editor holds it; an unopened one from disk only when it is a regular file
        inside the workspace roots and within indexing.max_file_bytes, else an empty document: a hover on a
        FIFO, a device or a huge file outside the workspace must not block or bloat the server."""
        workspace = self.server.workspace
        if unquote(uri) in workspace.text_documents:
            return workspace.get_text_document(uri)
        service = self.service
        limit = service.settings.indexing.max_file_bytes if service is not None else 0
        if self.locate(uri) is None or not readable_file(to_fs_path(uri), limit):
            return TextDocument(uri, source="", position_codec=workspace.position_codec)
        return workspace.get_text_document(uri)

    def locate(self, uri: str) -> tuple[Path, str] | None:
        """The workspace root holding a document and its path relative to that root."""
        service = self.service
        path = to_fs_path(uri)
        if service is None or path is None:
            return None
        return service.workspace.locate(Path(path))

    def close(self) -> None:
        if self.service is not None:
            self.service.close()
            self.service = None


def _settings_only(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in _SESSION_KEYS and v is not None}
