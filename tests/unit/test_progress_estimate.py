"""The time-left estimate that indexing progress shows: none until the pace means something, then rounded."""

from __future__ import annotations

import pytest

from localmind.indexing.pipeline import time_left


@pytest.mark.parametrize(
    ("done", "total", "spent"),
    [
        (0, 100, 60.0),  # Nothing done yet: no pace.
        (50, 100, 2.0),  # Too early: warm-up dominates the first seconds.
        (1, 1000, 30.0),  # Too little of the work done to extrapolate.
        (100, 100, 30.0),  # Finished: nothing is left.
        (0, 0, 30.0),  # Nothing to do at all.
    ],
)
def test_no_estimate_until_it_means_something(done: int, total: int, spent: float) -> None:
    assert time_left(done, total, spent) is None


def test_the_estimate_extrapolates_the_phases_own_pace() -> None:
    assert time_left(50, 100, 30.0) == "about 30 s left"  # Half done in 30 s: 30 s more.
    assert time_left(100, 400, 60.0) == "about 3 min left"  # A quarter in a minute: three more.


def test_short_estimates_round_to_five_seconds_and_never_say_zero() -> None:
    assert time_left(99, 100, 60.0) == "about 5 s left"
    assert time_left(60, 100, 60.0) == "about 40 s left"
