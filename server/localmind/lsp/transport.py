"""How the server talks to a client: stdio by default, or TCP on 127.0.0.1 with a token.

In TCP mode the first message must be `initialize` whose `initializationOptions.token` equals the
server's token (compared in constant time); anything else closes the connection before a single
request is served. Logs go to stderr and, once the client is initialised, to window/logMessage (lsp/logs.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import sys
import threading
from typing import Any

from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async

from localmind.lsp.features import build_server
from localmind.lsp.framing import FramingGuard

log = logging.getLogger(__name__)
_HEADER = re.compile(rb"^Content-Length: (\d+)\r\n$", re.IGNORECASE)
# The first message of a TCP client may not be larger than this (an initialize request is a few kB), and must
# arrive whole within this many seconds.
_MAX_FIRST_MESSAGE = 1 << 20
_FIRST_MESSAGE_SECONDS = 10


def serve_stdio(max_message_bytes: int) -> None:
    """Serve the client on stdin/stdout, through FramingGuard (pygls's start_io, with our reader)."""
    server = build_server()
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    reader = FramingGuard(StdinAsyncReader(sys.stdin.buffer, server.thread_pool), max_message_bytes)
    stop = threading.Event()
    try:
        asyncio.run(
            run_async(
                stop_event=stop,
                reader=reader,
                protocol=server.protocol,
                logger=log,
                error_handler=server.report_server_error,
            )
        )
    except BrokenPipeError:
        log.error("the client closed the connection; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


def serve_tcp(port: int, token: str, max_message_bytes: int) -> None:
    """Serve one client at a time on 127.0.0.1:port, each after a valid token."""
    asyncio.run(_tcp_main(port, token, max_message_bytes))


async def _tcp_main(port: int, token: str, max_message_bytes: int) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(reader, writer, token, max_message_bytes)

    listener = await asyncio.start_server(connection, "127.0.0.1", port)
    bound = ", ".join(str(sock.getsockname()) for sock in listener.sockets)
    log.warning("Local Mind language server listening on %s (token required)", bound)
    async with listener:
        await listener.serve_forever()


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str, max_message_bytes: int
) -> None:
    try:  # One deadline for the whole first message, not one per header line.
        first = await asyncio.wait_for(_read_message(reader), timeout=_FIRST_MESSAGE_SECONDS)
    except TimeoutError:
        first = None
    if first is None or not _token_matches(first[1], token):
        log.warning("closing a TCP connection without a valid token")
        writer.close()
        return
    server = build_server()
    server.protocol.set_writer(writer)  # type: ignore[arg-type]
    stop = threading.Event()
    guarded = FramingGuard(_Replay(first[0], reader), max_message_bytes)
    await run_async(stop_event=stop, reader=guarded, protocol=server.protocol, logger=log)
    server.shutdown()  # type: ignore[no-untyped-call]
    writer.close()


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, Any]] | None:
    """The raw bytes and the parsed body of the first message, or None when it is not a valid one."""
    raw, length = b"", 0
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout=10)
            raw += line
            if not line or len(raw) > 4096:
                return None
            if match := _HEADER.match(line):
                length = int(match.group(1))
            if line in (b"\r\n", b"\n"):
                break
        if not 0 < length <= _MAX_FIRST_MESSAGE:
            return None
        body = await asyncio.wait_for(reader.readexactly(length), timeout=10)
        message = json.loads(body)
    except (TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None
    return (raw + body, message) if isinstance(message, dict) else None


def _token_matches(message: dict[str, Any], token: str) -> bool:
    if message.get("method") != "initialize":
        return False
    options = (message.get("params") or {}).get("initializationOptions") or {}
    sent = options.get("token") if isinstance(options, dict) else None
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), token.encode())


class _Replay:
    """A reader that gives back the already-read first message before reading on."""

    def __init__(self, first: bytes, reader: asyncio.StreamReader) -> None:
        self._buffer = first
        self._reader = reader

    async def readline(self) -> bytes:
        if self._buffer:
            end = self._buffer.find(b"\n") + 1 or len(self._buffer)
            line, self._buffer = self._buffer[:end], self._buffer[end:]
            return line
        return await self._reader.readline()

    async def readexactly(self, n: int) -> bytes:
        if self._buffer:
            taken, self._buffer = self._buffer[:n], self._buffer[n:]
            return taken + (await self._reader.readexactly(n - len(taken)) if len(taken) < n else b"")
        return await self._reader.readexactly(n)
