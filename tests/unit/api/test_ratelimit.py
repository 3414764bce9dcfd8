"""Token buckets: burst, refill, Retry-After, independent keys, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.api.ingest.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_then_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=3, clock=clock)
    assert [limiter.acquire("v") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("v")
    assert wait == pytest.approx(2.0)
    assert limiter.acquire("other") == 0.0  # keys are independent
    clock.now = 2.0
    assert limiter.acquire("v") == 0.0
    assert limiter.acquire("v") > 0


def test_idle_buckets_are_evicted() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock, max_keys=10)
    for i in range(10):
        limiter.acquire(f"k{i}")
    clock.now = 5.0
    limiter.acquire("new")
    assert len(limiter) == 1


@given(gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=60))
def test_never_more_than_burst_plus_rate_times_elapsed(gaps: list[float]) -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=4, clock=clock)
    allowed = 0
    for gap in gaps:
        clock.now += gap
        allowed += limiter.acquire("v") == 0.0
    assert allowed <= 4 + 2.0 * clock.now + 1e-9


def test_wait_looks_without_taking() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=2, clock=clock)
    assert limiter.wait("k") == 0.0 and len(limiter) == 0  # an unseen key costs no memory
    limiter.acquire("k")
    assert [limiter.wait("k") for _ in range(5)] == [0.0] * 5
    limiter.acquire("k")
    assert limiter.wait("k") == pytest.approx(2.0)
    clock.now = 2.0
    assert limiter.wait("k") == 0.0
