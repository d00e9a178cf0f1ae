"""Reciprocal rank fusion over units: score(u) = prior(u) · Σ_signal weight / (k + rank_signal(u)).

A unit is what a hit stands for: the innermost definition for code (all its parts together), the innermost
section for prose, else the chunk itself (see units.py). Each signal's ranking of chunks becomes a ranking of
units (a unit ranks where its best chunk ranks), so two signals that found different parts of one definition
agree about it instead of splitting their votes. A signal contributes only within its own top `depth` units:
a deep, weak rank in one signal cannot outvote two signals' top ranks. The hit that stands for a unit is its
chunk ranked best by any signal.

Measured on the code-search sets of docs/BENCHMARKS.md, fusing units rather than chunks raised MRR@10 by
0.03 on both sets; the graph walk as a third ranked signal lowered it on two of three sets, so it is off by
default (retrieval.weight_graph = 0).

Code and prose compete by kind when a query asks about code (`kind_aware_fusion`): in a workspace with
docs, the pages that describe a feature outnumber the definitions that do it, so they push the defining
code down every signal's list, and no scale applied after one global fusion brings it back. Whether a query
asks about code is read from its own evidence: the share of code among what the signals rank first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

# A query asks about code when at least this share of the units that the weighted signals rank in their top
# INTENT_DEPTH is code. Measured (docs/BENCHMARKS.md): questions about Jinja2 and Cobra had from 0.3 to 1 of
# code there; the Python docs' questions, asked in a workspace that also held those two code bases, had 0 in
# 34 of 40 and none above 0.2.
CODE_INTENT_SHARE = 0.2
INTENT_DEPTH = 10

# A signal is named in a hit's provenance when it ranked the hit within its own top this many: a signal that
# merely listed it at rank 80 did not find it in any sense a user means.
STRONG_RANK = 10


@dataclass
class Fused:
    chunk_id: str
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    weighted: set[str] = field(default_factory=set)  # The signals whose weight added to the score.

    @property
    def provenance(self) -> str:
        """Why the hit is here, strongest reason first, e.g. 'lexical+dense': the weighted signals that ranked
        it within their top STRONG_RANK, or else the one that ranked it best (`ranks` has every rank)."""
        counted = sorted((rank, signal) for signal, rank in self.ranks.items() if signal in self.weighted)
        strong = [signal for rank, signal in counted if rank <= STRONG_RANK]
        return "+".join(strong or [signal for _, signal in counted[:1]])


def _chunk_itself(chunk_id: str) -> Hashable:
    return chunk_id


def _no_prior(_chunk_id: str) -> float:
    return 1.0


def _constant(value: float, _chunk_id: str) -> float:
    return value


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float],
    k: int,
    *,
    depth: Mapping[str, int] | None = None,
    unit_of: Callable[[str], Hashable] = _chunk_itself,
    prior: Callable[[str], float] = _no_prior,
) -> list[Fused]:
    """Fuse ranked lists of chunk ids into one list of units, best first; ties keep first-seen order."""
    fused: dict[Hashable, Fused] = {}
    best_rank: dict[Hashable, int] = {}
    for signal, ranking in rankings.items():
        weight = weights.get(signal, 1.0)
        limit = (depth or {}).get(signal, len(ranking))
        for rank, (unit, chunk_id) in enumerate(_units_in_order(ranking, unit_of), start=1):
            if rank > limit:
                break
            hit = fused.setdefault(unit, Fused(chunk_id))
            hit.ranks[signal] = rank
            hit.score += weight / (k + rank)
            if weight > 0:
                hit.weighted.add(signal)
            if rank < best_rank.get(unit, rank + 1):
                best_rank[unit] = rank
                hit.chunk_id = chunk_id
    for hit in fused.values():
        hit.score *= prior(hit.chunk_id)
    return sorted(fused.values(), key=lambda hit: -hit.score)


def _units_in_order(ranking: Sequence[str], unit_of: Callable[[str], Hashable]) -> list[tuple[Hashable, str]]:
    """Each unit once, at the place of its first (best) chunk, with that chunk."""
    seen: set[Hashable] = set()
    units: list[tuple[Hashable, str]] = []
    for chunk_id in ranking:
        unit = unit_of(chunk_id)
        if unit not in seen:
            seen.add(unit)
            units.append((unit, chunk_id))
    return units


def kind_aware_fusion(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float],
    k: int,
    *,
    is_code: Callable[[str], bool],
    prose_weight: float,
    depth: Mapping[str, int] | None = None,
    unit_of: Callable[[str], Hashable] = _chunk_itself,
    per_list: int | None = None,
) -> list[Fused]:
    """Units fused so that the code that does something ranks before the prose that describes it, when the
    query asks about code; otherwise one plain fusion of every unit.

    For a query about code (see `asks_about_code`), code is fused with code and prose with prose, each by
    its rank among its own kind, and prose scores are scaled by `prose_weight`. A query whose signals rank
    (almost) no code first is about prose: one fusion, no scale, so a workspace's only script does not jump
    ahead of the notes a question is about. Fusing a single signal always keeps its own order.

    Each list fused holds at most `per_list` chunks: the first of a signal's ranking in a plain fusion, the
    first of its kind in a fusion by kind. So rankings fetched deeper than `per_list` give each kind as many
    candidates as one kind alone would have, and change nothing in a plain fusion.
    """
    fuse = partial(reciprocal_rank_fusion, weights=weights, k=k, depth=depth, unit_of=unit_of)
    if len(rankings) < 2 or not asks_about_code(rankings, weights, is_code, unit_of):
        return fuse({signal: ranking[:per_list] for signal, ranking in rankings.items()})
    fused: list[Fused] = []
    for kind_is_code, scale in ((True, 1.0), (False, prose_weight)):
        of_kind = {signal: [c for c in r if is_code(c) == kind_is_code][:per_list] for signal, r in rankings.items()}
        fused.extend(fuse(of_kind, prior=partial(_constant, scale)))
    return sorted(fused, key=lambda hit: -hit.score)


def asks_about_code(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float],
    is_code: Callable[[str], bool],
    unit_of: Callable[[str], Hashable] = _chunk_itself,
) -> bool:
    """Whether code makes at least CODE_INTENT_SHARE of the units the weighted signals rank in their top
    INTENT_DEPTH."""
    top = [
        chunk_id
        for signal, ranking in rankings.items()
        if weights.get(signal, 1.0) > 0
        for _, chunk_id in _units_in_order(ranking, unit_of)[:INTENT_DEPTH]
    ]
    return bool(top) and sum(map(is_code, top)) >= CODE_INTENT_SHARE * len(top)
