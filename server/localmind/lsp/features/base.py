"""What every feature shares: the server, the session, and error containment for handlers."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from localmind.lsp.errors import to_rpc_error
from localmind.lsp.server import LocalMindProtocol, LocalMindServer
from localmind.lsp.session import Session

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class Feature:
    def __init__(self, server: LocalMindServer, session: Session) -> None:
        self.server = server
        self.session = session

    def register(self) -> None:
        raise NotImplementedError

    def feature(self, name: str, method: Callable[..., Any], options: Any = None) -> None:
        self.server.feature(name, options)(_plain(method))

    def command(self, name: str, method: Callable[..., Any]) -> None:
        self.server.command(name)(_plain(method))

    def position(self, uri: str, position: types.Position) -> tuple[str, int, int] | None:
        """The line's text and the position in Python characters (clients count UTF-16 code units)."""
        try:
            document = self.session.document(uri)
            lines = document.lines
        except (OSError, ValueError):
            return None
        if position.line >= len(lines):
            return None
        converted = self.server.workspace.position_codec.position_from_client_units(lines, position)
        return lines[position.line].rstrip("\r\n"), converted.line, converted.character


def _plain(method: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function calling a bound method: pygls marks handlers with attributes, which a bound
    method cannot carry."""
    if asyncio.iscoroutinefunction(method):

        @functools.wraps(method)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await method(*args, **kwargs)

        return call_async

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return call


async def _tracked(handler: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a feature's handler as a request the client can cancel: a cancellation by the client becomes
    a RequestCancelled error, whichever way pygls dispatched the request."""
    feature = args[0]
    protocol = feature.server.protocol if isinstance(feature, Feature) else None
    msg_id = protocol.msg_id if isinstance(protocol, LocalMindProtocol) else None
    task = asyncio.current_task()
    if isinstance(protocol, LocalMindProtocol) and msg_id is not None and task is not None:
        if msg_id in protocol.cancelled_by_client:
            raise JsonRpcRequestCancelled(f"request {msg_id} was cancelled before it started")
        protocol.in_flight[msg_id] = task
    began = time.perf_counter()
    try:
        answer = await handler(*args, **kwargs)
        log.info("%s answered in %.0f ms", handler.__qualname__, (time.perf_counter() - began) * 1000)
        return answer
    except asyncio.CancelledError:
        if isinstance(protocol, LocalMindProtocol) and msg_id in protocol.cancelled_by_client:
            raise JsonRpcRequestCancelled(f"request {msg_id} was cancelled") from None
        raise
    finally:
        if isinstance(protocol, LocalMindProtocol):
            protocol.in_flight.pop(msg_id, None)
            protocol.cancelled_by_client.pop(msg_id, None)


def contained(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn any exception of a request handler into a JSON-RPC error for that request alone."""

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await _tracked(handler, *args, **kwargs)
        except (asyncio.CancelledError, JsonRpcException):
            raise
        except Exception as exc:
            log.debug("%s failed", handler.__qualname__, exc_info=True)
            raise to_rpc_error(exc) from None

    return run


def quiet(default: Any) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """For hover-like requests: log a failure and answer `default`, so the editor shows nothing odd."""

    def wrap(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(handler)
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await _tracked(handler, *args, **kwargs)
            except (asyncio.CancelledError, JsonRpcRequestCancelled):
                raise
            except Exception as exc:
                log.warning("%s failed: %s", handler.__qualname__, exc)
                return default  # type: ignore[no-any-return]

        return run

    return wrap
