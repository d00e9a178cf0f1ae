"""Token buckets for the language server's rate limits.

Written here rather than taken from `limits` (whose strategies are fixed and moving windows over a
storage backend) because the server needs a token bucket with a burst and the exact seconds until the
next token, for the "retry after N s" in the error; the arithmetic is a few lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from localmind.config import LimitsSettings, RateLimit

METHOD_CLASSES = ("hover", "search", "chat", "reindex")


class TokenBucket:
    """`per_minute` tokens a minute, refilled continuously; at most `burst` saved up; starts full."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = limit.per_minute / 60.0
        self.capacity = float(limit.burst)
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self, cost: float = 1.0) -> float:
        """Take `cost` tokens and return 0, or take nothing and return the seconds until there are enough."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= cost:
                self._tokens -= cost
                return 0.0
            return (cost - self._tokens) / self.rate

    def give_back(self, cost: float = 1.0) -> None:
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + cost)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0
    limit: str = ""  # Which bucket refused: "chat", "overall", ...


class RateLimiter:
    """One bucket per method class for each client connection, and one shared by all connections."""

    def __init__(self, settings: LimitsSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._overall = TokenBucket(settings.overall, clock)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, connection: str, method_class: str) -> Verdict:
        """Whether one request of this class from this connection may run now."""
        bucket = self._bucket(connection, method_class)
        wait = bucket.take()
        if wait > 0:
            return Verdict(False, wait, method_class)
        overall_wait = self._overall.take()
        if overall_wait > 0:
            bucket.give_back()
            return Verdict(False, overall_wait, "overall")
        return Verdict(True)

    def forget(self, connection: str) -> None:
        """Drop a closed connection's buckets."""
        with self._lock:
            for key in [key for key in self._buckets if key[0] == connection]:
                del self._buckets[key]

    def _bucket(self, connection: str, method_class: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get((connection, method_class))
            if bucket is None:
                limit: RateLimit = getattr(self.settings, method_class)
                bucket = self._buckets[(connection, method_class)] = TokenBucket(limit, self._clock)
            return bucket
