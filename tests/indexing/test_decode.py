"""Decoding: byte order marks, binary detection by content, replacement counts and fallbacks."""

from __future__ import annotations

import codecs

import pytest

from localmind.indexing.decode import BinaryFile, decode, looks_binary
from tests.work import lines_run

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
TEXT = "Grüße, 世界!\r\nsecond line\n"


def test_plain_utf8_is_kept_exactly() -> None:
    decoded = decode(TEXT.encode("utf-8"))
    assert (decoded.text, decoded.encoding, decoded.replaced) == (TEXT, "utf-8", 0)
    assert "\r\n" in decoded.text  # Line endings are not normalised.


def test_empty_data_is_empty_text() -> None:
    assert decode(b"").text == ""


def test_utf8_bom_is_removed() -> None:
    decoded = decode(codecs.BOM_UTF8 + TEXT.encode("utf-8"))
    assert (decoded.text, decoded.encoding) == (TEXT, "utf-8-sig")


@pytest.mark.parametrize(
    ("bom", "codec", "family"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    ],
)
def test_wide_encodings_with_a_bom_are_text_despite_nuls(bom: bytes, codec: str, family: str) -> None:
    data = bom + TEXT.encode(codec)
    assert b"\x00" in data
    assert looks_binary(data) is None
    decoded = decode(data)
    assert (decoded.text, decoded.encoding, decoded.replaced) == (TEXT, family, 0)


def test_utf16_without_a_bom_is_recognised() -> None:
    text = "A note written by a Windows tool.\r\nSecond line.\r\n"
    assert decode(text.encode("utf-16-le")).text == text
    assert decode(text.encode("utf-16-be")).text == text


def test_a_utf16_le_bom_followed_by_nul_is_not_utf32() -> None:
    text = "\x00ab"  # Starts with U+0000, so the data begins FF FE 00 00 like a UTF-32 mark.
    assert decode(codecs.BOM_UTF16_LE + text.encode("utf-16-le")).text == text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (PNG + bytes(range(256)), "PNG image signature"),
        (b"\x89PNG\r\n\x1a\n", "PNG image signature"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP archive signature"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(100), "ELF executable signature"),
        (b"GIF89a\x01\x00\x01\x00", "GIF image signature"),
        (b"# Title\n\x00\x00\x00 binary-ish\n", "NUL bytes"),
        (bytes(range(1, 32)) * 10 + b"some text", "control characters"),
    ],
)
def test_binary_content_is_refused_whatever_the_name(data: bytes, reason: str) -> None:
    assert looks_binary(data) == reason
    with pytest.raises(BinaryFile, match=reason):
        decode(data)


def test_text_controls_do_not_make_a_file_binary() -> None:
    log = "\x1b[32mok\x1b[0m\tdone\r\n\f\b" * 100
    assert looks_binary(log.encode()) is None
    assert decode(log.encode()).text == log


def test_a_nul_after_the_first_8_kib_is_kept() -> None:
    text = "x" * 9000 + "\x00" + "tail\n"
    decoded = decode(text.encode())
    assert decoded.text == text and decoded.encoding == "utf-8"


def test_a_few_invalid_bytes_are_replaced_and_counted() -> None:
    data = b"caf\xe9 au lait and \xff\xfe stray bytes in a note about coffee\n"
    decoded = decode(data)
    assert decoded.encoding == "utf-8"
    assert decoded.text == "caf\ufffd au lait and \ufffd\ufffd stray bytes in a note about coffee\n"
    assert decoded.replaced == 3


def test_a_truncated_character_at_the_end_is_one_replacement() -> None:
    decoded = decode("long enough text ending in é".encode()[:-1])
    assert decoded.text == "long enough text ending in \ufffd" and decoded.replaced == 1


def test_mostly_non_utf8_text_falls_back_to_a_western_encoding() -> None:
    text = "Élève, café, naïve, façade, déjà vu, crème brûlée. " * 50
    decoded = decode(text.encode("latin-1"))
    assert decoded.encoding == "cp1252" and decoded.text == text and decoded.replaced == 0
    # 0x81 is undefined in cp1252, so only latin-1 decodes this.
    decoded = decode(text.encode("latin-1") + b"\x81")
    assert decoded.encoding == "latin-1" and decoded.text == text + "\x81"


def test_a_200k_character_line_decodes_without_work_per_character() -> None:
    """The codec decodes the bytes in one call and the checks read a bounded head, so a line a hundred times
    longer runs no more of decode's lines: counted, not timed (a per-character loop would run 200,000)."""
    decoded, long_line = lines_run(lambda: decode(("word " * 40_000).encode() + b"\n"))
    assert len(decoded.text) == 200_001 and decoded.encoding == "utf-8" and decoded.replaced == 0
    _, short_line = lines_run(lambda: decode(("word " * 400).encode() + b"\n"))
    assert long_line <= short_line + 20, f"a 2,000-character line ran {short_line} lines, 200,000 ran {long_line}"


def test_binary_by_content_only_looks_at_the_head() -> None:
    assert looks_binary(b"a" * 9000 + b"\x00" * 100) is None
