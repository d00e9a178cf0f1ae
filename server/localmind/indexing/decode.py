"""Turn a file's bytes into text, or say by its content that it is binary.

The text is kept exactly as decoded: line endings are not normalised (``\\r\\n`` stays), so offsets
and ranges computed on it match what an editor shows. Only a byte order mark is removed, and offsets
count from the character after it. Callers split lines on ``\\n`` alone (a ``\\r`` before it stays
at the end of the line).

Order of decisions: a UTF-32 or UTF-16 byte order mark, or UTF-16 without one that is recognisable by
its zero bytes, decides the encoding; otherwise content that looks binary raises ``BinaryFile``;
otherwise UTF-8 (a UTF-8 BOM is removed), with a few undecodable sequences replaced by U+FFFD; text
with many of them is read as cp1252, or latin-1, which decodes any bytes.
"""

from __future__ import annotations

import codecs
import threading
from dataclasses import dataclass

HEAD_BYTES = 8192
MAX_CONTROL_SHARE = 0.30
# UTF-8 with at most this many undecodable bytes (or at most 1% of the data) is still read as UTF-8.
MAX_REPLACED_BYTES = 64
MAX_REPLACED_SHARE = 0.01

# Control bytes that ordinary text uses: tab, newline, carriage return, form feed, backspace, escape.
_TEXT_CONTROLS = b"\t\n\r\f\b\x1b"
_BINARY_CONTROLS = bytes(b for b in [*range(0x20), 0x7F] if b not in _TEXT_CONTROLS)

# Byte order marks, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Signatures of common binary formats whose first bytes could otherwise pass for text.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\x7fELF", "ELF executable"),
    (b"%PDF-", "PDF document"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\x00asm", "WebAssembly"),
)


@dataclass(frozen=True)
class DecodedText:
    """Decoded text, the encoding it was read with, and how many U+FFFD replaced undecodable bytes.

    ``replaced`` counts the U+FFFD inserted: one per undecodable sequence, as errors="replace" and
    editors do (``b"\\xff\\xfe"`` gives two, a truncated three-byte character one).
    """

    text: str
    encoding: str
    replaced: int


class BinaryFile(Exception):
    """The content is not text; the message says why (for example "NUL bytes")."""


def looks_binary(head: bytes) -> str | None:
    """Why the first bytes of a file look binary, or None when they may be text.

    Judged by content alone: a known binary signature, a NUL byte, or more than 30% control bytes
    other than tab, newline, carriage return, form feed, backspace and escape. Only the first 8 KiB
    count. UTF-16 and UTF-32 text (with a byte order mark) is not binary despite its zero bytes.
    """
    head = head[:HEAD_BYTES]
    if _bom_encoding(head) not in (None, "utf-8-sig"):
        return None
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return f"{name} signature"
    if b"\x00" in head:
        return "NUL bytes"
    controls = len(head) - len(head.translate(None, _BINARY_CONTROLS))
    if head and controls / len(head) > MAX_CONTROL_SHARE:
        return "control characters"
    return None


def decode(data: bytes) -> DecodedText:
    """Decode a file's bytes; raise BinaryFile when they are not text."""
    bom_encoding = _bom_encoding(data)
    if bom_encoding is not None and bom_encoding != "utf-8-sig":
        return _decode_wide(data, bom_encoding)
    unmarked_utf16 = _unmarked_utf16(data[:HEAD_BYTES])
    if unmarked_utf16 is not None:
        return _decode_wide(data, unmarked_utf16)
    reason = looks_binary(data[:HEAD_BYTES])
    if reason is not None:
        raise BinaryFile(reason)
    if bom_encoding == "utf-8-sig":
        text, replaced = _decode_counting(data[len(codecs.BOM_UTF8) :], "utf-8")
        return DecodedText(text, "utf-8-sig", replaced)
    return _decode_unmarked(data)


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _decode_wide(data: bytes, encoding: str) -> DecodedText:
    """UTF-16 or UTF-32 text, its byte order mark (if any) removed; a bad UTF-32 mark falls back to UTF-16."""
    bom = next((bom for bom, name in _BOMS if name == encoding and data.startswith(bom)), b"")
    body = data[len(bom) :]
    if encoding == "utf-32-le" and not _is_valid(body, encoding):
        # "FF FE 00 00" is also a UTF-16 LE mark followed by U+0000.
        encoding, body = "utf-16-le", data[len(codecs.BOM_UTF16_LE) :]
    text, replaced = _decode_counting(body, encoding)
    family = encoding.rsplit("-", 1)[0] if bom else encoding
    return DecodedText(text, family, replaced)


def _is_valid(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _unmarked_utf16(head: bytes) -> str | None:
    """UTF-16 without a byte order mark: mostly-ASCII text with a zero in every other byte.

    At least 70% of the bytes at one parity must be zero and none at the other; the head must then
    decode strictly (an odd byte cut off at the end of the head aside) to text that does not look binary.
    """
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 8:
        return None
    even_zeros, odd_zeros = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zeros >= 0.7 * half and even_zeros == 0:
        encoding = "utf-16-le"
    elif even_zeros >= 0.7 * half and odd_zeros == 0:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample)
    except UnicodeDecodeError:
        return None
    # Arrays of small 16-bit numbers have the same zeros; as text they are mostly control characters.
    return encoding if looks_binary(text.encode("utf-8")) is None else None


def _decode_unmarked(data: bytes) -> DecodedText:
    """UTF-8, tolerating a few undecodable sequences; otherwise a single-byte Western encoding."""
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", 0)
    except UnicodeDecodeError:
        pass
    text, replaced, bad_bytes = _decode_counting_bytes(data, "utf-8")
    if bad_bytes <= MAX_REPLACED_BYTES or bad_bytes <= MAX_REPLACED_SHARE * len(data):
        return DecodedText(text, "utf-8", replaced)
    try:
        return DecodedText(data.decode("cp1252"), "cp1252", 0)
    except UnicodeDecodeError:
        return DecodedText(data.decode("latin-1"), "latin-1", 0)


# Decoding errors are counted by an error handler, which the codecs registry knows by name only;
# the counts live per thread so concurrent decodes do not mix them.
_ERROR_HANDLER = "localmind-count-replace"
_counts = threading.local()


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    """Replace one undecodable sequence with one U+FFFD, as errors="replace" does, and count it."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _counts.replaced += 1
    _counts.bad_bytes += exc.end - exc.start
    return "\ufffd", exc.end


codecs.register_error(_ERROR_HANDLER, _count_and_replace)


def _decode_counting(data: bytes, encoding: str) -> tuple[str, int]:
    text, replaced, _ = _decode_counting_bytes(data, encoding)
    return text, replaced


def _decode_counting_bytes(data: bytes, encoding: str) -> tuple[str, int, int]:
    """The text, the number of U+FFFD inserted, and the number of bytes they replaced."""
    _counts.replaced = 0
    _counts.bad_bytes = 0
    text = data.decode(encoding, errors=_ERROR_HANDLER)
    return text, _counts.replaced, _counts.bad_bytes
