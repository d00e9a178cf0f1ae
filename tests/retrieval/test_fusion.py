"""Reciprocal rank fusion arithmetic on hand-made lists."""

from __future__ import annotations

import math

import pytest

from localmind.retrieval.fusion import asks_about_code, kind_aware_fusion, reciprocal_rank_fusion


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
    assert by_id["b"].provenance == "lexical+dense+graph", "strongest reason first"
    assert by_id["a"].provenance == "dense"


def test_provenance_names_only_the_signals_that_found_the_hit() -> None:
    deep = [f"x{i}" for i in range(30)]
    fused = reciprocal_rank_fusion({"dense": [*deep, "a"], "lexical": ["a", *deep]}, {}, 60)
    by_id = {hit.chunk_id: hit for hit in fused}
    assert by_id["a"].ranks == {"dense": 31, "lexical": 1}
    assert by_id["a"].provenance == "lexical", "rank 31 in meaning is not why it is here"
    assert by_id["x20"].ranks == {"dense": 21, "lexical": 22}
    assert by_id["x20"].provenance == "dense", "neither found it strongly: the better one is named"
    assert by_id["x2"].provenance == "dense+lexical"


def test_weights_change_the_order() -> None:
    rankings = {"dense": ["a"], "lexical": ["b"]}
    assert reciprocal_rank_fusion(rankings, {"dense": 2.0, "lexical": 1.0}, 60)[0].chunk_id == "a"
    assert reciprocal_rank_fusion(rankings, {"dense": 1.0, "lexical": 2.0}, 60)[0].chunk_id == "b"


def test_a_zero_weight_signal_records_its_rank_but_is_no_reason() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a"], "graph": ["a", "z"]}, {"graph": 0.0}, 10)
    assert math.isclose(fused[0].score, 1 / 11)
    assert fused[0].ranks == {"dense": 1, "graph": 1} and fused[0].provenance == "dense"


def test_a_duplicate_within_one_list_counts_once_at_its_best_rank() -> None:
    [hit] = reciprocal_rank_fusion({"dense": ["a", "a"]}, {}, 60)
    assert hit.ranks == {"dense": 1}
    assert math.isclose(hit.score, 1 / 61)


@pytest.mark.parametrize("k", [1, 60, 1000])
def test_smaller_k_favours_the_top_ranks_more(k: int) -> None:
    [first, second] = reciprocal_rank_fusion({"dense": ["a", "b"]}, {}, k)
    assert math.isclose(first.score / second.score, (k + 2) / (k + 1))


def test_a_signal_counts_only_within_its_depth() -> None:
    deep = [f"x{i}" for i in range(50)] + ["weak"]
    rankings = {"dense": ["best", *deep[:50], "weak"], "lexical": ["best", *deep[:50], "weak"], "graph": deep}
    fused = reciprocal_rank_fusion(rankings, {"graph": 0.5}, 60, depth={"graph": 10})
    by_id = {hit.chunk_id: hit for hit in fused}
    assert "graph" not in by_id["weak"].ranks  # Rank 51 in the graph is past its depth of 10.
    assert by_id["x0"].ranks["graph"] == 1 and by_id["x9"].ranks["graph"] == 10
    assert "graph" not in by_id["x10"].ranks


def test_deep_agreement_of_three_signals_does_not_outvote_two_top_ranks() -> None:
    filler = [f"f{i}" for i in range(40)]
    rankings = {"dense": ["top", *filler, "weak"], "lexical": ["top", *filler, "weak"], "graph": [*filler, "weak"]}
    fused = reciprocal_rank_fusion(rankings, {"graph": 0.5}, 60, depth={"graph": 10})
    order = [hit.chunk_id for hit in fused]
    assert order.index("top") < order.index("weak")
    assert math.isclose(next(h for h in fused if h.chunk_id == "weak").score, 2 / (60 + 42))


def test_parts_of_one_unit_pool_their_votes_and_the_best_ranked_part_stands_for_it() -> None:
    units = {"m1": "method", "m2": "method", "other": "other", "filler": "filler"}
    rankings = {"dense": ["other", "m2", "m1"], "lexical": ["m1", "filler", "other"]}
    fused = reciprocal_rank_fusion(rankings, {}, 60, unit_of=units.__getitem__)
    assert [hit.chunk_id for hit in fused] == ["m1", "other", "filler"]
    method = fused[0]
    assert method.ranks == {"dense": 2, "lexical": 1}  # The method ranks as a unit: 2nd in dense, not 3rd.
    assert math.isclose(method.score, 1 / 62 + 1 / 61)


def test_a_prior_scales_a_units_score() -> None:
    rankings = {"dense": ["note", "code"], "lexical": ["note", "code"]}
    plain = reciprocal_rank_fusion(rankings, {}, 60)
    assert plain[0].chunk_id == "note"
    scaled = reciprocal_rank_fusion(rankings, {}, 60, prior=lambda chunk: 0.9 if chunk == "note" else 1.0)
    assert [hit.chunk_id for hit in scaled] == ["code", "note"]
    assert math.isclose(scaled[1].score, 0.9 * 2 / 61)


def _is_code(chunk: str) -> bool:
    return chunk.startswith("code")


def test_in_a_query_about_code_code_ranks_among_code_before_the_prose_about_it() -> None:
    # Four doc sections outrank the defining code in both signals; the other top hits are code.
    docs = ["doc1", "doc2", "doc3", "doc4"]
    rankings = {
        "dense": [*docs, "code-answer", "code-x", "code-y"],
        "lexical": [*docs, "code-answer", "code-y", "code-x"],
    }
    plain = reciprocal_rank_fusion(rankings, {}, 60)
    assert plain[0].chunk_id == "doc1" and [h.chunk_id for h in plain].index("code-answer") == 4
    fused = kind_aware_fusion(rankings, {}, 60, is_code=_is_code, prose_weight=0.8)
    assert [hit.chunk_id for hit in fused][:4] == ["code-answer", "code-x", "code-y", "doc1"]
    answer = fused[0]
    assert answer.ranks == {"dense": 1, "lexical": 1}  # First among the code, in each signal.
    assert math.isclose(answer.score, 2 / 61)
    assert math.isclose(fused[3].score, 0.8 * 2 / 61)


def test_a_query_about_prose_is_one_plain_fusion_and_a_lone_script_does_not_jump_ahead() -> None:
    # The workspace's one script is 10th by meaning (1 code unit of 20 in the top 10s); fused by kind it
    # would be first among the code, with a score above every note's scaled one.
    notes = [f"note{n}" for n in range(20)]
    rankings = {"dense": [*notes[:9], "code-script", *notes[9:]], "lexical": notes[::-1]}
    assert not asks_about_code(rankings, {}, _is_code)
    fused = kind_aware_fusion(rankings, {}, 60, is_code=_is_code, prose_weight=0.8)
    plain = reciprocal_rank_fusion(rankings, {}, 60)
    assert [(h.chunk_id, h.score) for h in fused] == [(h.chunk_id, h.score) for h in plain]
    assert [h.chunk_id for h in fused].index("code-script") > 10


@pytest.mark.parametrize(("code_in_top", "asks"), [(0, False), (3, False), (4, True), (10, True)])
def test_a_query_asks_about_code_from_a_fifth_of_code_in_the_signals_top_ten(code_in_top: int, asks: bool) -> None:
    # Two signals, 20 units in their top 10s: 4 of them code is a fifth.
    dense = [f"code{n}" for n in range(code_in_top)] + [f"doc{n}" for n in range(20)]
    lexical = [f"doc{n}" for n in range(20)]
    assert asks_about_code({"dense": dense, "lexical": lexical}, {}, _is_code) is asks


def test_a_zero_weight_signal_does_not_count_towards_the_intent() -> None:
    rankings = {"dense": [f"doc{n}" for n in range(10)], "graph": [f"code{n}" for n in range(10)]}
    assert asks_about_code(rankings, {"graph": 1.0}, _is_code)
    assert not asks_about_code(rankings, {"graph": 0.0}, _is_code)


def test_a_single_signal_keeps_its_own_order_whatever_the_kinds() -> None:
    rankings = {"dense": ["doc1", "code1", "code2", "code3"]}
    fused = kind_aware_fusion(rankings, {}, 60, is_code=_is_code, prose_weight=0.5)
    assert [hit.chunk_id for hit in fused] == ["doc1", "code1", "code2", "code3"]


def test_each_kind_gets_its_own_candidates_from_rankings_fetched_deeper() -> None:
    # Twelve doc sections, then the code; two candidates per list. By kind, the code's first two count.
    docs = [f"doc{n}" for n in range(12)]
    rankings = {"dense": [*docs[:4], "code-a", "code-b", *docs[4:]], "lexical": ["code-a", "code-b", *docs]}
    fused = kind_aware_fusion(rankings, {}, 60, is_code=_is_code, prose_weight=0.8, per_list=2)
    assert [hit.chunk_id for hit in fused] == ["code-a", "code-b", "doc0", "doc1"]
    assert fused[0].ranks == {"dense": 1, "lexical": 1}
    # A plain fusion (a single signal) keeps the first two of the ranking as it is.
    [first, second] = kind_aware_fusion(
        {"dense": rankings["dense"]}, {}, 60, is_code=_is_code, prose_weight=0.8, per_list=2
    )
    assert (first.chunk_id, second.chunk_id) == ("doc0", "doc1")
