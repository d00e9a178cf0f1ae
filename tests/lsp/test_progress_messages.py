"""What indexing progress tells a client: counts per phase and, once the pace is known, the time left."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from localmind.indexing.pipeline import Progress
from localmind.lsp.features.indexing import _ProgressReporter


class RecordingProgress:
    """The part of pygls's work-done progress the reporter calls, recording each report."""

    def __init__(self) -> None:
        self.reports: list[types.WorkDoneProgressReport] = []
        self.tokens: dict[str, Any] = {}

    def report(self, token: str, value: types.WorkDoneProgressReport) -> None:
        self.reports.append(value)


class FakeServer:
    def __init__(self) -> None:
        self.work_done_progress = RecordingProgress()


def messages_for(events: list[Progress]) -> list[str]:
    async def report_all() -> list[str]:
        server = FakeServer()
        reporter = _ProgressReporter(server, "token")  # type: ignore[arg-type]
        for event in events:
            reporter._report(event)
        return [str(value.message) for value in server.work_done_progress.reports]

    return asyncio.run(report_all())


def test_the_time_left_appears_once_each_phase_has_a_pace() -> None:
    files = [
        Progress(done, 400, done * 40, elapsed, phase_seconds=elapsed)
        for done, elapsed in ((0, 0.0), (32, 1.0), (200, 10.0))
    ]
    # Phase 2 began at 12 s into the run: its own clock starts there.
    chunks = [
        Progress(0, 0, 16000, elapsed, "embedding", embedded, 16000, elapsed - 12.0)
        for embedded, elapsed in ((128, 12.0), (4000, 70.0))
    ]
    messages = messages_for(files + chunks)
    assert messages[0] == "0/400 files, 0 chunks" and messages[1] == "32/400 files, 1280 chunks"
    assert messages[2] == "200/400 files, 8000 chunks, about 10 s left"  # Half of the files in 10 s.
    # The embedding phase has its own clock: its first step is too early to extrapolate.
    assert messages[3] == "searchable; embedding 128/16000 chunks for meaning search"
    assert messages[4] == "searchable; embedding 4000/16000 chunks for meaning search, about 3 min left"
