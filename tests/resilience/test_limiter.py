"""Token-bucket arithmetic and the per-connection, per-class and overall limits."""

from __future__ import annotations

import pytest

from localmind.config import LimitsSettings, RateLimit
from localmind.resilience import RateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(RateLimit(per_minute=60, burst=3), clock)
    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    assert bucket.take() == pytest.approx(1.0)  # One token a second.
    clock.now += 0.25
    assert bucket.take() == pytest.approx(0.75)


def test_tokens_refill_evenly_and_never_beyond_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(RateLimit(per_minute=120, burst=2), clock)
    bucket.take()
    bucket.take()
    clock.now += 0.5  # 2 per second: one token back.
    assert bucket.take() == 0
    assert bucket.take() > 0
    clock.now += 3600
    assert [bucket.take() for _ in range(3)] == [0, 0, pytest.approx(0.5)]


def test_give_back_returns_a_token_up_to_the_capacity() -> None:
    bucket = TokenBucket(RateLimit(per_minute=1, burst=1), Clock())
    bucket.give_back()
    assert bucket.take() == 0
    assert bucket.take() == pytest.approx(60.0)


def limits(**classes: tuple[float, int]) -> LimitsSettings:
    return LimitsSettings(**{name: {"per_minute": rate, "burst": burst} for name, (rate, burst) in classes.items()})


def test_each_connection_and_class_has_its_own_bucket() -> None:
    limiter = RateLimiter(limits(chat=(60, 2)), Clock())
    assert limiter.check("a", "chat").allowed
    assert limiter.check("a", "chat").allowed
    refused = limiter.check("a", "chat")
    assert not refused.allowed and refused.limit == "chat" and refused.retry_after == pytest.approx(1.0)
    assert limiter.check("b", "chat").allowed  # Another client.
    assert limiter.check("a", "hover").allowed  # Another class.


def test_the_overall_limit_spans_connections_and_refunds_the_class_token() -> None:
    clock = Clock()
    limiter = RateLimiter(limits(overall=(60, 2), search=(60, 5)), clock)
    assert limiter.check("a", "search").allowed
    assert limiter.check("b", "search").allowed
    refused = limiter.check("c", "search")
    assert not refused.allowed and refused.limit == "overall"
    clock.now += 1.0
    assert limiter.check("c", "search").allowed  # c's own bucket was not charged by the refusal.


def test_forget_drops_a_closed_connections_buckets() -> None:
    limiter = RateLimiter(limits(reindex=(1, 1)), Clock())
    assert limiter.check("a", "reindex").allowed
    assert not limiter.check("a", "reindex").allowed
    limiter.forget("a")
    assert limiter.check("a", "reindex").allowed
