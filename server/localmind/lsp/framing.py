"""A message reader that a broken or hostile client cannot crash, stall or deafen.

pygls's loop trusts the framing it reads: a Content-Length of 99999999999999999999 overflowed, a negative
one or headers ending in a bare LF desynchronised the stream for good, and a length of 5 GB with a 2-byte
body waited forever. FramingGuard sits between the client's bytes and that loop: it reads each message's
headers itself (CRLF or LF line ends), checks the length (digits only, at most `max_bytes`), and hands the
loop only canonical frames. A bad frame is logged and skipped by resynchronising on the next line that holds
a Content-Length header. pygls offers no hook for this, hence our own reader.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

log = logging.getLogger(__name__)
_CONTENT_LENGTH = b"content-length:"
# A header block longer than this is not a header block: skip it and resynchronise.
_MAX_HEADER_BYTES = 8192


class AsyncReader(Protocol):
    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


class BadFrame(ValueError):
    """A message whose headers cannot be trusted; the text says why."""


class FramingGuard:
    """An AsyncReader for pygls's run_async that only ever yields well-formed frames."""

    def __init__(self, reader: AsyncReader, max_bytes: int) -> None:
        self._reader = reader
        self._max_bytes = max_bytes
        self._pending = b""  # The canonical frame being handed out.
        self._carried = b""  # A header line found inside the previous line, read on next.

    async def readline(self) -> bytes:
        if not self._pending:
            frame = await self._next_frame()
            if frame is None:
                return b""
            self._pending = frame
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        line, self._pending = self._pending[:end], self._pending[end:]
        return line

    async def readexactly(self, n: int) -> bytes:
        taken, self._pending = self._pending[:n], self._pending[n:]
        return taken

    async def _next_frame(self) -> bytes | None:
        """The next valid message as `Content-Length: N\\r\\n\\r\\n` + body; None at the end of the stream."""
        while True:
            try:
                length = await self._headers()
            except BadFrame as exc:
                log.error("skipped a malformed message from the client (%s); reading on from the next header", exc)
                continue
            if length is None:
                return None
            try:
                body = await self._reader.readexactly(length)
            except asyncio.IncompleteReadError:
                return None
            if len(body) < length:
                return None
            return b"Content-Length: %d\r\n\r\n" % length + body

    async def _headers(self) -> int | None:
        """The Content-Length of the next header block (None at the end of the stream)."""
        length: int | None = None
        seen = 0
        while True:
            line = await self._line()
            if not line:
                return None
            seen += len(line)
            if seen > _MAX_HEADER_BYTES:
                raise BadFrame("headers longer than 8 kB")
            if not line.strip():
                if length is None:
                    raise BadFrame("a header block without Content-Length")
                return length
            if line.lower().startswith(_CONTENT_LENGTH):
                length = self._length(line[len(_CONTENT_LENGTH) :].strip())

    async def _line(self) -> bytes:
        """The next line; a Content-Length header found inside a line of junk starts a line of its own."""
        if self._carried:
            line, self._carried = self._carried, b""
        else:
            line = await self._reader.readline()
        found = line.lower().find(_CONTENT_LENGTH, 1)
        if found > 0 and not line.lower().startswith(_CONTENT_LENGTH):
            line, self._carried = line[:found], line[found:]
        return line

    def _length(self, value: bytes) -> int:
        if not value.isdigit():
            raise BadFrame(f"Content-Length {value[:40]!r} is not a non-negative number")
        if len(value) > 12 or int(value) > self._max_bytes:
            raise BadFrame(f"Content-Length {value[:40].decode()} is over the limit of {self._max_bytes} bytes")
        return int(value)
