"""Odd input gets a defined result or a clear error naming the item; nothing crashes."""

from __future__ import annotations

import time

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


def test_a_megabyte_text_is_cut_quickly_and_reported(fp32: OnnxEmbedder) -> None:
    start = "Local Mind indexes code and notes. "
    huge = start * (1_000_000 // len(start))
    began = time.perf_counter()
    result = fp32.encode([huge, "short"])
    assert time.perf_counter() - began < 5.0
    assert result.truncated == [True, False]
    np.testing.assert_allclose(result.vectors[0], fp32.embed_documents([huge[:5000]])[0], atol=1e-6)


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
