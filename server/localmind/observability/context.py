"""Ids that follow one piece of work through threads: the LSP request id and a correlation id.

Thread pools do not carry context variables, so work handed to another thread is wrapped with
`carry`, which runs it inside a copy of the caller's context.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("localmind_request_id", default=None)
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("localmind_correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def bound(*, request: str | None = None, correlation: str | None = None) -> Iterator[str]:
    """Set the request id (when given) and a correlation id (the given one, else a new one) for a block."""
    cid = correlation or correlation_id.get() or new_correlation_id()
    tokens = [correlation_id.set(cid)]
    if request is not None:
        tokens.append(request_id.set(request))
    try:
        yield cid
    finally:
        for token in reversed(tokens):
            token.var.reset(token)  # type: ignore[attr-defined]


@contextmanager
def request_scope(msg_id: object, correlation: str | None = None) -> Iterator[str]:
    """The ids of one LSP request: its JSON-RPC id as the request id, and a correlation id of its own
    (the given one, else a new one; never the caller's, so two requests never share one). Yields the
    correlation id. Wrap the handler call with it; a task or a `carry`-wrapped function created inside
    keeps both ids."""
    with bound(request=None if msg_id is None else str(msg_id), correlation=correlation or new_correlation_id()) as cid:
        yield cid


def current_ids() -> dict[str, str]:
    """The ids set here: {"request_id": …, "correlation_id": …}, each only when set."""
    ids = {"request_id": request_id.get(), "correlation_id": correlation_id.get()}
    return {name: value for name, value in ids.items() if value is not None}


def correlation_headers() -> dict[str, str]:
    """HTTP headers that carry the correlation id to a backend (empty when none is set)."""
    cid = correlation_id.get()
    return {"X-Correlation-ID": cid} if cid else {}


def carry(work: Callable[P, T]) -> Callable[P, T]:
    """`work` bound to a copy of the current context, to run on another thread with the same ids."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return context.run(work, *args, **kwargs)

    return run
