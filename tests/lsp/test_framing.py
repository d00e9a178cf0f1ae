"""FramingGuard on hand-made byte streams: every malformed frame is skipped and the next message still read
(issue #17, finding 4: before, these crashed, stalled or desynchronised the stdio server)."""

from __future__ import annotations

import asyncio
import json

import pytest

from localmind.lsp.framing import FramingGuard

MAX = 1_000_000


def frame(body: bytes, header: bytes | None = None, end: bytes = b"\r\n") -> bytes:
    header = header if header is not None else b"Content-Length: " + str(len(body)).encode()
    return header + end + end + body


def request(n: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": n, "method": "workspace/symbol", "params": {"query": "x"}}).encode()


async def bodies(data: bytes, max_bytes: int = MAX) -> list[bytes]:
    """The bodies pygls's loop would read: header lines up to a blank one, then Content-Length bytes."""
    stream = asyncio.StreamReader()
    stream.feed_data(data)
    stream.feed_eof()
    guard = FramingGuard(stream, max_bytes)
    found: list[bytes] = []
    while True:
        header = await guard.readline()
        if not header:
            return found
        assert header.startswith(b"Content-Length: ") and header.endswith(b"\r\n")
        assert await guard.readline() == b"\r\n"
        found.append(await guard.readexactly(int(header.split(b":")[1])))


def read(data: bytes, max_bytes: int = MAX) -> list[bytes]:
    return asyncio.run(bodies(data, max_bytes))


def test_well_formed_frames_pass_unchanged() -> None:
    assert read(frame(request(1)) + frame(request(2))) == [request(1), request(2)]


@pytest.mark.parametrize(
    "bad",
    [
        frame(b"{}", b"Content-Length: 99999999999999999999"),  # Overflowed pygls's reader.
        frame(b"{}", b"Content-Length: -5"),  # Desynchronised it.
        frame(b"xx", b"Content-Length: 5000000000"),  # Stalled it: over the limit, with a 2-byte body.
        frame(b"{}", b"Content-Length: twelve"),
        frame(b"{}", b"Content-Type: application/json"),  # No length at all.
        b"garbage without any header\r\n\r\n",
    ],
)
def test_a_bad_frame_is_skipped_and_the_next_message_is_read(bad: bytes) -> None:
    assert read(frame(request(1)) + bad + frame(request(2))) == [request(1), request(2)]


def test_headers_with_bare_line_feeds_are_read() -> None:
    assert read(frame(request(1), end=b"\n") + frame(request(2))) == [request(1), request(2)]


def test_a_header_glued_to_junk_is_found() -> None:
    assert read(b"junk" + frame(request(3))) == [request(3)]


def test_a_body_cut_short_by_the_end_of_the_stream_ends_reading() -> None:
    assert read(frame(request(1)) + b"Content-Length: 100\r\n\r\n{}") == [request(1)]
