"""Indexing with a team embedding cache: a teammate's copy of a workspace embeds only what changed, a cache
that lies is caught by the spot check, and a cache that is down costs nothing but its help. The cache here
is a test double of the port; tests/stores/test_team_index.py runs the same path against Milvus."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from localmind.config import IndexingSettings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.pipeline import Indexer, IndexReport
from localmind.indexing.workspace import open_workspace


class DictCache:
    """An embedding cache in a dict; `down` makes every call fail like a server that went away."""

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}
        self.down = False
        self.lookups = 0

    def lookup(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        self._check()
        self.lookups += 1
        return {h: self.vectors[h] for h in hashes if h in self.vectors}

    def publish(self, vectors: Mapping[str, np.ndarray]) -> None:
        self._check()
        self.vectors.update(vectors)

    def close(self) -> None:
        pass

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("cache server unavailable")


def index(root: Path, data: Path, embedder: OnnxEmbedder, cache: DictCache) -> IndexReport:
    settings = IndexingSettings(data_dir=data)
    return Indexer(open_workspace([root], settings), settings, embedder, team_cache=cache).run()


@pytest.fixture()
def teammates(workspace_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Ada's checkout, and Grace's copy of it at another path with one file changed."""
    copy = tmp_path / "grace" / "checkout"
    shutil.copytree(workspace_dir, copy)
    notes = sorted(copy.rglob("*.md"))[0]
    notes.write_text(notes.read_text(encoding="utf-8") + "\n\nA paragraph only Grace wrote about retries.\n")
    return workspace_dir, copy


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_a_teammates_copy_embeds_only_what_changed(
    teammates: tuple[Path, Path], tmp_path: Path, variant: str, request: pytest.FixtureRequest
) -> None:
    """With int8 too: its vectors are the same whatever they were batched with, so the spot check, which
    embeds a hit again among other texts, accepts a teammate's int8 vectors."""
    embedder: OnnxEmbedder = request.getfixturevalue(variant)
    ada, grace = teammates
    cache = DictCache()
    first = index(ada, tmp_path / "ada-data", embedder, cache)
    assert first.chunks_embedded > 10 and first.chunks_from_team == 0
    assert len(cache.vectors) == first.chunks_embedded, "every vector embedded is shared"
    second = index(grace, tmp_path / "grace-data", embedder, cache)
    assert 1 <= second.chunks_embedded <= 3, "only the changed file's new chunks are embedded"
    assert second.chunks_from_team >= first.chunks_embedded - 3
    assert second.chunks_spot_checked >= 1 and second.pending_left == 0


def test_a_cache_that_lies_is_caught_and_not_used(
    teammates: tuple[Path, Path], tmp_path: Path, fp32: OnnxEmbedder
) -> None:
    ada, grace = teammates
    cache = DictCache()
    first = index(ada, tmp_path / "ada-data", fp32, cache)
    rng = np.random.default_rng(7)
    for text_hash in cache.vectors:  # Every vector replaced by a random unit vector: a poisoned cache.
        noise = rng.standard_normal(fp32.dimensions).astype(np.float32)
        cache.vectors[text_hash] = noise / np.linalg.norm(noise)
    second = index(grace, tmp_path / "grace-data", fp32, cache)
    assert second.chunks_from_team == 0 and second.chunks_embedded >= first.chunks_embedded - 3


def test_a_cache_that_is_down_costs_only_its_help(
    teammates: tuple[Path, Path], tmp_path: Path, fp32: OnnxEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    ada, _ = teammates
    cache = DictCache()
    cache.down = True
    report = index(ada, tmp_path / "ada-data", fp32, cache)
    assert report.chunks_embedded > 10 and report.pending_left == 0 and report.chunks_from_team == 0
    warnings = [r for r in caplog.records if "team embedding cache" in r.getMessage()]
    assert len(warnings) == 1, "an outage is reported once per run, not once per batch"


def test_which_hits_are_checked_cannot_be_known_in_advance(fp32: OnnxEmbedder) -> None:
    """A poisoner who knew which hashes get checked would poison the others: the draw is keyed per run."""
    from localmind.indexing.ids import text_hash
    from localmind.indexing.pipeline import _TeamCache

    hashes = [text_hash(f"text {n}") for n in range(10_000)]
    first, second = _TeamCache(DictCache(), fp32), _TeamCache(DictCache(), fp32)
    drawn = {h for h in hashes if first._drawn(h)}
    assert 150 < len(drawn) < 320, "about one in forty"
    assert drawn != {h for h in hashes if second._drawn(h)}, "another run draws others"
    first.start_run()
    assert drawn != {h for h in hashes if first._drawn(h)}, "a new run of the same indexer too"
