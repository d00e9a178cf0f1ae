"""Work measured by what the code does instead of by a clock: the lines of Local Mind's own code that a
call runs. A machine under load runs the same lines, only later, so a bound on them holds on any machine
(a clock-based bound fails on a busy one). What runs in C (a codec, the regex engine) is one call here,
whatever it does inside."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import localmind

T = TypeVar("T")
_PACKAGE = str(Path(localmind.__file__).resolve().parent)


def lines_run(work: Callable[[], T]) -> tuple[T, int]:
    """work()'s answer, and how many lines of the localmind package ran meanwhile (on this thread)."""
    counted = 0

    def in_localmind(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal counted
        if event == "line":
            counted += 1
        return in_localmind

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return in_localmind if frame.f_code.co_filename.startswith(_PACKAGE) else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        answer = work()
    finally:
        sys.settrace(previous)
    return answer, counted
