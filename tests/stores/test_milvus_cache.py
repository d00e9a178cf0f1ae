"""The team embedding cache in Milvus (stores/milvus_cache.py), on the test server and in a Milvus Lite
file: vectors come back by the hash of their text, only for hashes a client names, only while younger
than the time to live; aging hits are kept alive; bad hashes and shapes never reach Milvus; and verify can
tell a cached vector that differs from the client's own."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymilvus import MilvusException

from localmind.indexing import ids
from localmind.stores.milvus_cache import MilvusEmbeddingCache
from localmind.stores.milvus_vectors import InvalidIdError, MilvusVectors, VectorStoreError, collection_name
from tests.stores.milvus_fixtures import MilvusEndpoint, lite_settings, milvus_lite_file, milvus_server
from tests.stores.test_milvus import spy_on
from tests.stores.test_vector_contract import DIMENSIONS, HOSTILE_IDS, make_corpus, new_workspace, unit_rows

__all__ = ["milvus_lite_file", "milvus_server"]  # Fixtures, used by name.

TTL = 1000
NOT_HASHES = [*HOSTILE_IDS, "A" * 64, "a" * 63, "a" * 65, "g" * 64]

OpenCache = Callable[..., MilvusEmbeddingCache]


@pytest.fixture(params=["milvus-lite", "milvus-server"])
def open_cache(request: pytest.FixtureRequest) -> Iterator[OpenCache]:
    """Opens caches of one model of the test's own (so one test's rows never meet another's), on a Milvus
    Lite file or the test server; `offset` sets the cache's clock that many seconds from now."""
    model = f"cache-test-{uuid.uuid4().hex[:8]}:fp32"
    opened: list[MilvusEmbeddingCache] = []

    def open_with(ttl: int = TTL, offset: float = 0.0, dimensions: int = DIMENSIONS) -> MilvusEmbeddingCache:
        if request.param == "milvus-lite":
            settings = lite_settings(request.getfixturevalue("milvus_lite_file"))
        else:
            settings = request.getfixturevalue("milvus_server").settings()
        opened.append(MilvusEmbeddingCache(settings, model, dimensions, ttl, clock=lambda: time.time() + offset))
        return opened[-1]

    yield open_with
    for cache in opened:
        cache.close()


def embedded(count: int, seed: int) -> dict[str, np.ndarray]:
    """Vectors by the hashes of texts of their own."""
    vectors = unit_rows(np.random.default_rng(seed), count)
    return {ids.text_hash(f"text {uuid.uuid4().hex} {n}"): vector for n, vector in enumerate(vectors)}


def assert_same_vectors(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert set(got) == set(expected)
    for text_hash, vector in expected.items():
        np.testing.assert_allclose(got[text_hash], vector, atol=1e-6)


def test_published_vectors_come_back_by_their_text_hash(open_cache: OpenCache) -> None:
    cache, vectors = open_cache(), embedded(5, seed=1)
    cache.publish(vectors)
    unknown = list(embedded(2, seed=2))
    assert_same_vectors(cache.lookup([*vectors, *unknown]), vectors)
    assert cache.lookup(unknown) == {}
    assert cache.lookup([]) == {}
    # Another client of the same server and model sees them too: nothing ties a row to who stored it.
    assert_same_vectors(open_cache().lookup(list(vectors)), vectors)


def test_strings_that_are_not_text_hashes_are_never_sent(open_cache: OpenCache) -> None:
    cache, vectors = open_cache(), embedded(1, seed=3)
    cache.publish(vectors)
    calls = spy_on(cache)
    assert cache.lookup(NOT_HASHES) == {}
    assert cache.mismatches(dict.fromkeys(NOT_HASHES, np.zeros(DIMENSIONS, np.float32))) == []
    with pytest.raises(InvalidIdError):
        cache.publish({**vectors, NOT_HASHES[0]: np.ones(DIMENSIONS, np.float32)})
    assert calls == []
    assert_same_vectors(cache.lookup([*NOT_HASHES, *vectors]), vectors)
    [(name, kwargs)] = calls
    assert name == "query" and set(re.findall(r'"([^"]*)"', kwargs["filter"])) == set(vectors)


def test_vectors_of_another_shape_are_refused_whole(open_cache: OpenCache) -> None:
    cache = open_cache()
    good, other = embedded(1, seed=4), embedded(1, seed=5)
    wrong = {text_hash: np.ones(DIMENSIONS + 1, np.float32) for text_hash in other}
    for refused in (wrong, {next(iter(other)): np.full(DIMENSIONS, np.nan, np.float32)}):
        with pytest.raises(VectorStoreError, match="dimensions"):
            cache.publish({**good, **refused})
    assert cache.lookup([*good, *other]) == {}


def test_expired_rows_are_not_served_and_expire_deletes_them(open_cache: OpenCache) -> None:
    cache, young, old = open_cache(), embedded(2, seed=6), embedded(3, seed=7)
    open_cache(offset=-2 * TTL).publish(old)  # Published two lifetimes ago.
    cache.publish(young)
    assert_same_vectors(cache.lookup([*young, *old]), young)
    assert cache.stats()["rows"] == 5
    assert cache.expire() == 3
    assert cache.stats()["rows"] == 2
    assert cache.expire() == 0
    assert_same_vectors(cache.lookup([*young, *old]), young)


def test_a_hit_older_than_half_the_ttl_is_published_again(open_cache: OpenCache) -> None:
    cache, aging, young = open_cache(), embedded(2, seed=8), embedded(1, seed=9)
    open_cache(offset=-0.7 * TTL).publish(aging)
    cache.publish(young)
    calls = spy_on(cache)
    assert_same_vectors(cache.lookup([*aging, *young]), {**aging, **young})
    upserted = [{row["hash"] for row in kwargs["data"]} for name, kwargs in calls if name == "upsert"]
    assert upserted == [set(aging)]  # The young hit is not written again.
    # Later, they would have outlived the TTL without the refresh (1.3 lifetimes); with it they are 0.6 old.
    later = open_cache(offset=0.6 * TTL)
    assert_same_vectors(later.lookup(list(aging)), aging)


def test_a_refresh_that_fails_still_answers_the_lookup(open_cache: OpenCache) -> None:
    cache, aging = open_cache(), embedded(1, seed=10)
    open_cache(offset=-0.7 * TTL).publish(aging)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise MilvusException(message="permission denied")

    cache._client.upsert = refuse
    assert_same_vectors(cache.lookup(list(aging)), aging)


def test_mismatches_name_poisoned_and_reshaped_entries(open_cache: OpenCache) -> None:
    cache, cached = open_cache(), embedded(4, seed=11)
    cache.publish(cached)
    same, scaled, poisoned, reshaped = cached
    ours = {
        same: cached[same],
        scaled: 3 * cached[scaled],  # One direction: the cosine is 1.
        poisoned: unit_rows(np.random.default_rng(12), 1)[0],
        reshaped: np.ones(DIMENSIONS + 1, np.float32),
        **dict.fromkeys(embedded(1, seed=13), np.ones(DIMENSIONS, np.float32)),  # Not in the cache.
    }
    assert cache.mismatches(ours) == sorted([poisoned, reshaped])
    assert cache.mismatches(ours, min_cosine=-1.0) == [reshaped]
    cache.publish({poisoned: ours[poisoned]})  # What a repair does.
    assert cache.mismatches(ours) == [reshaped]


def test_stats_count_rows_and_estimate_their_size(open_cache: OpenCache) -> None:
    cache = open_cache()
    cache.publish(embedded(3, seed=14))
    row_bytes = DIMENSIONS * 4 + 64 + 8
    stats = cache.stats()
    assert stats == {"collection": cache.collection, "rows": 3, "ttl_seconds": TTL, "approx_bytes": 3 * row_bytes}


def test_long_lookups_are_split_into_queries_of_bounded_length(open_cache: OpenCache) -> None:
    cache, vectors = open_cache(), embedded(3, seed=15)
    cache.publish(vectors)
    calls = spy_on(cache)
    asked = [*vectors, *(ids.text_hash(str(n)) for n in range(2500))]
    assert_same_vectors(cache.lookup(asked), vectors)
    assert [name for name, _ in calls] == ["query"] * 3


def test_the_server_collection_holds_no_owner_and_carries_the_ttl(open_cache: OpenCache) -> None:
    cache = open_cache()
    description = cache._client.describe_collection(cache.collection)
    fields = {f["name"]: f for f in description["fields"]}
    assert set(fields) == {"hash", "vector", "stored_at"}
    assert fields["hash"].get("is_primary") and fields["hash"]["params"]["max_length"] == 64
    prefix = cache._settings.collection_prefix
    assert cache.collection == collection_name(f"{prefix}_cache", cache._model_id, DIMENSIONS)
    if cache._target.lite:  # Milvus Lite forgets collection properties; expire() does the TTL's work there.
        return
    assert description["properties"]["collection.ttl.seconds"] == str(TTL)
    longer = open_cache(ttl=2 * TTL)
    properties = longer._client.describe_collection(longer.collection)["properties"]
    assert properties["collection.ttl.seconds"] == str(2 * TTL)


def test_a_collection_of_another_dimension_is_named_apart(milvus_server: MilvusEndpoint) -> None:
    settings = milvus_server.settings()
    model = f"cache-test-{uuid.uuid4().hex[:8]}:fp32"
    small = MilvusEmbeddingCache(settings, model, DIMENSIONS, TTL)
    large = MilvusEmbeddingCache(settings, model, 2 * DIMENSIONS, TTL)
    try:
        assert small.collection != large.collection
        vectors = embedded(1, seed=16)
        small.publish(vectors)
        assert large.lookup(list(vectors)) == {}
    finally:
        small.close()
        large.close()


def test_a_lite_file_holds_the_cache_beside_the_vectors(tmp_path: Path) -> None:
    settings = lite_settings(tmp_path / "team.db")
    model = "cache-test-shared:fp32"
    vectors = MilvusVectors(settings, new_workspace(), model, DIMENSIONS)
    cache = MilvusEmbeddingCache(settings, model, DIMENSIONS, TTL)
    update = make_corpus("0123456789abcdef")[0]
    update.model_id = model
    vectors.write_file(update)
    vectors.close()  # The file's Lite server stays up for the cache.
    published = embedded(2, seed=17)
    cache.publish(published)
    assert_same_vectors(cache.lookup(list(published)), published)
    cache.close()
