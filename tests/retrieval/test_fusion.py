"""Reciprocal rank fusion arithmetic on hand-made lists."""

from __future__ import annotations

import math

import pytest

from localmind.retrieval.fusion import reciprocal_rank_fusion


def test_scores_are_weighted_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a", "b"], "lexical": ["b", "c"]}, {"dense": 1.0, "lexical": 1.0}, 60)
    scores = {hit.chunk_id: hit.score for hit in fused}
    assert math.isclose(scores["a"], 1 / 61)
    assert math.isclose(scores["b"], 1 / 62 + 1 / 61)
    assert math.isclose(scores["c"], 1 / 62)
    assert [hit.chunk_id for hit in fused] == ["b", "a", "c"]


def test_provenance_and_ranks_are_kept() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a", "b"], "lexical": ["b"], "graph": ["c", "b"]}, {}, 60)
    by_id = {hit.chunk_id: hit for hit in fused}
    assert by_id["b"].ranks == {"dense": 2, "lexical": 1, "graph": 2}
    assert by_id["b"].provenance == "dense+lexical+graph"
    assert by_id["a"].provenance == "dense"


def test_weights_change_the_order() -> None:
    rankings = {"dense": ["a"], "lexical": ["b"]}
    assert reciprocal_rank_fusion(rankings, {"dense": 2.0, "lexical": 1.0}, 60)[0].chunk_id == "a"
    assert reciprocal_rank_fusion(rankings, {"dense": 1.0, "lexical": 2.0}, 60)[0].chunk_id == "b"


def test_a_zero_weight_signal_still_records_provenance_but_adds_nothing() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a"], "graph": ["a", "z"]}, {"graph": 0.0}, 10)
    assert math.isclose(fused[0].score, 1 / 11)
    assert fused[0].provenance == "dense+graph"


def test_a_duplicate_within_one_list_counts_once_at_its_best_rank() -> None:
    [hit] = reciprocal_rank_fusion({"dense": ["a", "a"]}, {}, 60)
    assert hit.ranks == {"dense": 1}
    assert math.isclose(hit.score, 1 / 61)


@pytest.mark.parametrize("k", [1, 60, 1000])
def test_smaller_k_favours_the_top_ranks_more(k: int) -> None:
    [first, second] = reciprocal_rank_fusion({"dense": ["a", "b"]}, {}, k)
    assert math.isclose(first.score / second.score, (k + 2) / (k + 1))
