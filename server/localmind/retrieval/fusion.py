"""Reciprocal rank fusion: score(d) = Σ_signal weight / (k + rank_signal(d)), ranks starting at 1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Fused:
    chunk_id: str
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)

    @property
    def provenance(self) -> str:
        """Which signals found the hit, e.g. 'dense+lexical'."""
        return "+".join(self.ranks)


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: int) -> list[Fused]:
    """Fuse ranked lists of chunk ids; ties keep the order in which hits were first seen."""
    fused: dict[str, Fused] = {}
    for signal, ranking in rankings.items():
        weight = weights.get(signal, 1.0)
        for rank, chunk_id in enumerate(ranking, start=1):
            hit = fused.setdefault(chunk_id, Fused(chunk_id))
            if signal not in hit.ranks:
                hit.ranks[signal] = rank
                hit.score += weight / (k + rank)
    return sorted(fused.values(), key=lambda hit: -hit.score)
