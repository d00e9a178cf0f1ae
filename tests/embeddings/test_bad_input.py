"""Odd input gets a defined result or a clear error naming the item; nothing crashes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from localmind.embeddings import OnnxEmbedder
from localmind.errors import EmbeddingInputError


def test_empty_and_whitespace_texts_get_the_models_own_empty_embedding(
    fp32: OnnxEmbedder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, expected = reference
    assert texts[0] == "" and texts[1].strip() == ""
    vectors = fp32.embed_documents(["", "   \n\t "])
    np.testing.assert_allclose(vectors, expected[:2], atol=1e-4)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_empty_list_gives_an_empty_matrix(fp32: OnnxEmbedder) -> None:
    assert fp32.embed_documents([]).shape == (0, 384)


def test_a_megabyte_text_is_cut_before_tokenizing_and_reported(
    fp32: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tokenizer is handed a prefix the model can read, never the megabyte: the work is bounded by the
    model's window, which the characters handed over show (a clock would say it of a quiet machine only)."""
    start = "Local Mind indexes code and notes. "
    huge = start * (1_000_000 // len(start))
    handed = tokenizer_inputs(fp32, monkeypatch)
    result = fp32.encode([huge, "short"])
    assert result.truncated == [True, False]
    assert handed and max(handed) < len(huge) // 10, f"the tokenizer read {max(handed)} characters"
    np.testing.assert_allclose(result.vectors[0], fp32.embed_documents([huge[:5000]])[0], atol=1e-6)


def tokenizer_inputs(embedder: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the length of every text the embedder's tokenizer library is asked to encode."""
    library = embedder.tokenizer._tokenizer
    handed: list[int] = []

    class Recorded:
        def encode_batch(self, texts: list[str], *args: Any, **kwargs: Any) -> Any:
            handed.extend(len(text) for text in texts)
            return library.encode_batch(texts, *args, **kwargs)

        def encode(self, text: str, *args: Any, **kwargs: Any) -> Any:
            handed.append(len(text))
            return library.encode(text, *args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(library, name)

    monkeypatch.setattr(embedder.tokenizer, "_tokenizer", Recorded())
    return handed


@pytest.mark.parametrize(
    "tricky",
    [
        " " * 40_000 + "words after a long run of spaces " * 50,
        "x" * 30_000 + " then words " * 100,
        "αβγ δέζ " * 5000,
    ],
)
def test_long_text_shortcut_gives_the_same_tokens_as_the_whole_text(fp32: OnnxEmbedder, tricky: str) -> None:
    from localmind.embeddings.tokenize import TextTokenizer

    tokenizer: TextTokenizer = fp32._tokenizer
    shortcut = tokenizer.encode_batch([tricky])[0]
    whole = tokenizer._tokenizer.encode(tricky)
    assert shortcut.ids == whole.ids
    assert shortcut.truncated == bool(whole.overflowing)


def test_lone_surrogates_are_replaced_not_fatal(fp32: OnnxEmbedder) -> None:
    vectors = fp32.embed_documents(["bad \ud800 surrogate", "bad \ufffd surrogate", "\udfff"])
    assert np.isfinite(vectors).all()
    assert float(vectors[0] @ vectors[1]) > 0.99


@pytest.mark.parametrize(
    ("item", "named"),
    [(None, "NoneType"), (42, "int"), (b"bytes", "bytes"), (["nested"], "list"), ({"text": "x"}, "dict")],
)
def test_non_string_items_are_refused_with_their_index(fp32: OnnxEmbedder, item: object, named: str) -> None:
    with pytest.raises(EmbeddingInputError, match=rf"item 1 is {named}"):
        fp32.encode(["fine", item])


def test_a_bare_string_is_not_mistaken_for_a_list_of_characters(fp32: OnnxEmbedder) -> None:
    with pytest.raises(EmbeddingInputError, match="one string"):
        fp32.embed_documents("not a list")


def test_control_characters_and_nul_bytes_embed(fp32: OnnxEmbedder) -> None:
    vectors = fp32.embed_documents(["a\x00b\x01c", "\x00" * 100, "tab\tnew\nline\r"])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_embedder_keeps_working_after_an_error(fp32: OnnxEmbedder) -> None:
    with pytest.raises(EmbeddingInputError):
        fp32.encode([object()])
    assert fp32.embed_documents(["still alive"]).shape == (1, 384)
