"""The caller's deadline, carried in a context variable so every backend call made on its behalf
(however deep in retrieval) is bounded by it without passing it through each function."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("localmind_deadline", default=None)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Backend calls inside this block end within `seconds` from now (None: only their own timeouts);
    a tighter deadline already set by an outer block is kept."""
    if seconds is None:
        yield
        return
    ends = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def current_deadline() -> float | None:
    """The monotonic time by which the current work must be done, if any."""
    return _deadline.get()
