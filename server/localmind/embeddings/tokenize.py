"""Tokenisation with the model's own tokenizer.json, truncated at the model's max sequence length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Encoding, Tokenizer

from localmind.errors import EmbeddingInputError, ModelError

# A token never spans less than one character, so a text is only cut for speed when the cut leaves
# far more characters than the model can read. The margin keeps the last kept token clear of the word
# the cut splits (WordPiece reads at most 100 characters of one word).
_CHARS_PER_TOKEN_BOUND = 64
_CUT_MARGIN_CHARS = 200


@dataclass(frozen=True)
class Tokens:
    ids: list[int]
    truncated: bool


def clean_text(index: int, item: object) -> str:
    """The text to embed for one input item; non-strings are refused, invalid Unicode is repaired."""
    if not isinstance(item, str):
        hint = " (decode bytes first)" if isinstance(item, bytes | bytearray) else ""
        raise EmbeddingInputError(f"item {index} is {type(item).__name__}, not str{hint}")
    if item.isascii():
        return item
    try:
        item.encode("utf-8")
        return item
    except UnicodeEncodeError:  # Lone surrogates: each becomes U+FFFD, as a UTF-8 decoder would do.
        return item.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class TextTokenizer:
    """Wraps a tokenizers.Tokenizer with the model's truncation and no fixed padding."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        self.path = path
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # The library raises a bare Exception for unreadable files.
            raise ModelError(f"cannot read tokenizer {path}: {exc}") from None
        # Packaged tokenizer.json files often fix truncation and padding at 128; the model reads more.
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        self.max_tokens = max_tokens
        self.pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        self._untruncated = Tokenizer.from_file(str(path))
        self._untruncated.no_truncation()
        self._untruncated.no_padding()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of every token of the whole text, without special tokens (for chunking)."""
        spans: list[tuple[int, int]] = self._untruncated.encode(text, add_special_tokens=False).offsets
        return spans

    def encode_batch(self, texts: Sequence[str]) -> list[Tokens]:
        cut_at = self.max_tokens * _CHARS_PER_TOKEN_BOUND
        long_ones = [i for i, text in enumerate(texts) if len(text) > cut_at]
        encodings = self._tokenizer.encode_batch([text[:cut_at] for text in texts])
        tokens = [Tokens(e.ids, bool(e.overflowing)) for e in encodings]
        for i in long_ones:
            tokens[i] = self._encode_long(texts[i], encodings[i], cut_at)
        return tokens

    def _encode_long(self, text: str, prefix: Encoding, cut_at: int) -> Tokens:
        """The cut prefix gives the same tokens as the whole text when it overflowed well before the cut."""
        if prefix.overflowing and _last_offset(prefix) <= cut_at - _CUT_MARGIN_CHARS:
            return Tokens(prefix.ids, truncated=True)
        whole = self._tokenizer.encode(text)
        return Tokens(whole.ids, bool(whole.overflowing))


def _last_offset(encoding: Encoding) -> int:
    return max((end for _, end in encoding.offsets), default=0)


def validate_texts(texts: Sequence[object]) -> list[str]:
    if isinstance(texts, str):
        raise EmbeddingInputError("expected a list of strings, got one string; wrap it in a list")
    return [clean_text(i, item) for i, item in enumerate(texts)]
