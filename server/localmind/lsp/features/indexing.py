"""Live indexing: the whole workspace in the background after `initialized`, again after saves, watched
file changes and file operations. Bursts are coalesced: a change during a run asks for one more run,
however many changes arrive. Progress goes to the client as work-done progress, which it can cancel.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from localmind.indexing.pipeline import IndexCancelled, IndexReport, Progress
from localmind.lsp.features.base import Feature
from localmind.lsp.protocol import INDEX_PROGRESS_PREFIX
from localmind.lsp.server import LocalMindServer
from localmind.lsp.session import Session

log = logging.getLogger(__name__)
# A save usually comes with others (format on save, save all): wait this long for the rest.
DEBOUNCE_SECONDS = 0.05
_ALL_FILES = types.FileOperationRegistrationOptions(
    filters=[types.FileOperationFilter(pattern=types.FileOperationPattern(glob="**/*"))]
)


class IndexingFeature(Feature):
    def __init__(self, server: LocalMindServer, session: Session) -> None:
        super().__init__(server, session)
        self.after_run: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._timer: asyncio.TimerHandle | None = None
        self.runs_finished = 0
        self.stopping = False  # Set by shutdown: the running pass stops early and no other starts.

    def register(self) -> None:
        self.feature(types.TEXT_DOCUMENT_DID_SAVE, self.changed)
        self.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES, self.changed)
        self.feature(types.WORKSPACE_DID_CREATE_FILES, self.changed, _ALL_FILES)
        self.feature(types.WORKSPACE_DID_RENAME_FILES, self.changed, _ALL_FILES)
        self.feature(types.WORKSPACE_DID_DELETE_FILES, self.changed, _ALL_FILES)

    def changed(self, params: Any) -> None:
        self.schedule()

    def schedule(self, delay: float = DEBOUNCE_SECONDS) -> None:
        """Ask for an incremental pass soon; repeated calls within the delay, or during a run, make one."""
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(delay, self._start)

    def stop(self) -> None:
        """For shutdown: the running pass ends after its current batch of files or step of chunks (what it
        indexed stays, and the next start of the server goes on from there), and no pass starts after it.
        Without this, closing the service would wait for the whole pass: minutes for a large first index,
        long after the client has given up on its shutdown request."""
        self.stopping = True
        self._again = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start(self) -> None:
        self._timer = None
        if self.stopping:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.ensure_future(self._run_until_caught_up())

    async def _run_until_caught_up(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            await self._index_once()

    async def _index_once(self) -> None:
        service = self.session.service
        if service is None:
            return
        # A client without work-done progress (eglot) hears of the first pass, and of large ones, in messages.
        progress = await _ProgressReporter.start(self.server, milestones=self.runs_finished == 0)
        try:
            run = service.index(
                progress.threadsafe_report, self._cancelled(progress), self._another_run_waits, self._open_files
            )
            report = await asyncio.wrap_future(run)
            progress.end(_summary(report))
        except IndexCancelled:
            # A pass stopped by the shutdown is not news to the user, who is closing the editor.
            progress.end("Indexing cancelled; the files indexed so far are searchable.", tell=not self.stopping)
        except Exception as exc:
            if service is not self.session.service:  # Replaced (settings or folders changed) and closing.
                log.info("indexing stopped on a replaced service (%s); the new one indexes", exc)
                progress.end("Settings changed: indexing again with the new settings.")
                return
            log.exception("indexing failed")
            progress.end(f"Indexing failed: {exc}")
            self.server.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"Local Mind: indexing failed: {exc}")
            )
        finally:
            self.runs_finished += 1
        for callback in self.after_run:
            callback()

    def _cancelled(self, progress: _ProgressReporter) -> Callable[[], bool]:
        """Read on the indexing thread: the client cancelled the run's progress, or the server shuts down."""
        return lambda: self.stopping or progress.cancelled()

    def _another_run_waits(self) -> bool:
        """Read on the indexing thread: a change came in during this run, so its embedding phase gives way."""
        return self._again

    def _open_files(self) -> list[Path]:
        """Read on the indexing thread: the documents open in the editor, embedded before the others."""
        try:
            uris = list(self.server.workspace.text_documents)
        except RuntimeError:  # The editor opened or closed one just then; the next step asks again.
            return []
        return [Path(path) for uri in uris if uri.startswith("file:") and (path := to_fs_path(uri))]


class _ProgressReporter:
    """Work-done progress for one indexing run; silent when the client does not support it."""

    def __init__(self, server: LocalMindServer, token: str | None, milestones: bool = False) -> None:
        """`milestones`: with no token (the client has no work-done progress), say in window/showMessage
        when every file is searchable and when the pass ends."""
        self.server = server
        self.token = token
        self.loop = asyncio.get_running_loop()
        self.milestones = milestones and token is None
        self._said_searchable = False

    @classmethod
    async def start(cls, server: LocalMindServer, milestones: bool = False) -> _ProgressReporter:
        window = server.client_capabilities.window
        token: str | None = None
        if window is not None and window.work_done_progress:
            token = f"{INDEX_PROGRESS_PREFIX}{uuid.uuid4()}"
            try:
                await asyncio.wait_for(server.work_done_progress.create_async(token), timeout=5)
            except Exception as exc:  # A client that refuses a progress token still gets indexed.
                log.info("no progress token (%s)", exc)
                token = None
        reporter = cls(server, token, milestones)
        reporter.begin()
        return reporter

    def begin(self) -> None:
        if self.token is not None:
            value = types.WorkDoneProgressBegin(
                title="Local Mind: indexing", cancellable=True, message="scanning files", percentage=0
            )
            self.server.work_done_progress.begin(self.token, value)

    def threadsafe_report(self, event: Progress) -> None:
        self.loop.call_soon_threadsafe(self._report, event)

    def _report(self, event: Progress) -> None:
        if self.milestones and event.phase == "embedding" and not self._said_searchable:
            self._said_searchable = True
            self._tell(f"Local Mind: every file is searchable by words and links; embedding {event.to_embed} chunks")
        if self.token is None:
            return
        done, total = event.counts
        if event.phase == "embedding":
            message = f"searchable; embedding {done}/{total} chunks for meaning search"
        else:
            message = f"{done}/{total} files, {event.chunks} chunks"
        percentage = int(100 * done / total) if total else 100
        left = event.estimate_left()
        message += f", {left}" if left else ""
        self.server.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=message, percentage=min(percentage, 100))
        )

    def cancelled(self) -> bool:
        token = self.token
        future = self.server.work_done_progress.tokens.get(token) if token else None
        return bool(future is not None and future.cancelled())

    def _tell(self, message: str) -> None:
        self.server.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))

    def end(self, message: str, tell: bool = True) -> None:
        """End the run's progress; `tell`: also say so in a message to a client without progress."""
        if self.milestones and tell:
            self._tell(f"Local Mind: {message}")
        self.milestones = False
        token, self.token = self.token, None  # Reports still queued after the end are dropped.
        if token is not None:
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
            self.server.work_done_progress.tokens.pop(token, None)


def _summary(report: IndexReport) -> str:
    summary = (
        f"Indexed {report.files_indexed} files ({report.chunks_written} chunks), {report.files_unchanged} "
        f"unchanged, {report.files_deleted} removed: searchable after {report.searchable_seconds:.1f} s, "
        f"done in {report.seconds:.1f} s"
    )
    if report.pending_left:
        summary += f"; {report.pending_left} chunks wait for the next pass to be embedded"
    return summary
