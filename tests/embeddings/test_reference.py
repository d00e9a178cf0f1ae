"""Embeddings compared with sentence-transformers' own output for the same texts."""

from __future__ import annotations

import numpy as np

from localmind.embeddings import OnnxEmbedder


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def test_reference_has_enough_varied_texts(reference: tuple[list[str], np.ndarray]) -> None:
    texts, vectors = reference
    assert len(texts) >= 50
    assert vectors.shape == (len(texts), 384)
    assert any(len(t) > 2000 for t in texts), "a text beyond 256 tokens exercises truncation"


def test_fp32_matches_sentence_transformers(fp32: OnnxEmbedder, reference: tuple[list[str], np.ndarray]) -> None:
    texts, expected = reference
    actual = fp32.embed_documents(texts)
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    assert cosines(actual, expected).min() >= 0.9999
    assert np.abs(actual - expected).max() < 1e-4


def test_int8_stays_close_to_sentence_transformers(int8: OnnxEmbedder, reference: tuple[list[str], np.ndarray]) -> None:
    texts, expected = reference
    similarity = cosines(int8.embed_documents(texts), expected)
    assert similarity.mean() >= 0.99
    assert similarity.min() >= 0.97


def test_rows_are_unit_length(fp32: OnnxEmbedder, reference: tuple[list[str], np.ndarray]) -> None:
    norms = np.linalg.norm(fp32.embed_documents(reference[0]), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_batching_does_not_change_fp32_vectors(fp32: OnnxEmbedder, reference: tuple[list[str], np.ndarray]) -> None:
    """Length-sorted batches with padding give the same vectors as one text at a time."""
    texts = reference[0]
    one_by_one = np.stack([fp32.embed_documents([t])[0] for t in texts])
    np.testing.assert_allclose(fp32.embed_documents(texts), one_by_one, atol=2e-6)


def test_int8_vectors_do_not_depend_on_their_batch(int8: OnnxEmbedder, reference: tuple[list[str], np.ndarray]) -> None:
    """A text's int8 vector is the same alone, among texts of other lengths, and in another order: dynamic
    quantisation scales by the run's range, so int8 embeds each text in its own run (batched, cosine fell to
    0.965), and the team cache can check a teammate's vectors against its own."""
    texts = reference[0]
    assert int8.batch_size > 1 and int8.texts_per_run == 1
    one_by_one = np.stack([int8.embed_documents([t])[0] for t in texts])
    assert cosines(int8.embed_documents(texts), one_by_one).min() >= 0.99999
    assert cosines(int8.embed_documents(texts[::-1])[::-1], one_by_one).min() >= 0.99999


def test_results_keep_input_order(fp32: OnnxEmbedder) -> None:
    texts = ["a long sentence about databases and indexes " * 5, "cat", "a medium sentence about cats"]
    together = fp32.embed_documents(texts)
    for row, text in enumerate(texts):
        np.testing.assert_allclose(together[row], fp32.embed_documents([text])[0], atol=2e-6)


def test_query_vector_is_the_document_vector_for_a_prefixless_model(fp32: OnnxEmbedder) -> None:
    query = fp32.embed_query("where is the config parsed?")
    assert query.shape == (fp32.dimensions,)
    np.testing.assert_allclose(query, fp32.embed_documents(["where is the config parsed?"])[0], atol=1e-6)


def test_meaning_ranks_related_text_first(fp32: OnnxEmbedder) -> None:
    docs = fp32.embed_documents(["The cat sat on the mat.", "Quarterly revenue grew by 4 percent."])
    query = fp32.embed_query("a kitten resting on a rug")
    assert float(docs[0] @ query) > float(docs[1] @ query) + 0.2


def test_public_attributes(fp32: OnnxEmbedder, int8: OnnxEmbedder) -> None:
    assert (fp32.dimensions, fp32.max_tokens) == (384, 256)
    assert fp32.model_id == "all-MiniLM-L6-v2:fp32"
    assert int8.model_id == "all-MiniLM-L6-v2:int8"
    assert fp32.provider == "CPUExecutionProvider" or "CUDA" in fp32.provider
