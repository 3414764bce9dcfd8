"""The retry schedule: exponential, capped, jittered within [d/2, d]."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.sink.delivery.backoff import RetryPolicy, backoff_delay, is_permanent


@given(
    attempt=st.integers(1, 10_000),
    base=st.floats(0.001, 60),
    cap=st.floats(0.001, 3600),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_delay_stays_within_half_and_whole_of_the_capped_step(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    step = min(cap, base * 2.0 ** min(attempt - 1, 64))
    delay = backoff_delay(attempt, base, cap, jitter)
    assert step / 2 <= delay <= step
    assert delay <= cap


@given(base=st.floats(0.01, 10), cap=st.floats(0.01, 1000), attempt=st.integers(1, 50))
def test_the_envelope_never_shrinks(base: float, cap: float, attempt: int) -> None:
    # The slowest next retry is never faster than the fastest possible one before it doubled.
    assert backoff_delay(attempt + 1, base, cap, 0.0) >= backoff_delay(attempt, base, cap, 0.0)


def test_schedule_doubles_until_the_cap() -> None:
    lows = [backoff_delay(k, 1.0, 8.0, 0.0) for k in range(1, 7)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_delay(3, 1.0, 8.0, 0.999999) == pytest.approx(4.0, abs=1e-5)


def test_jitter_spreads_retries() -> None:
    policy = RetryPolicy(attempts=5, base=1.0, cap=60.0)
    rng = random.Random(7)
    delays = {round(policy.delay(4, rng), 6) for _ in range(50)}
    assert len(delays) > 40  # not lockstep
    assert all(4.0 <= d <= 8.0 for d in delays)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        backoff_delay(0, 1, 1, 0)
    with pytest.raises(ValueError):
        backoff_delay(1, 1, 1, 1.0)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (404, True), (410, True), (408, False), (425, False),
     (429, False), (500, False), (502, False), (503, False)],
)  # fmt: skip
def test_which_answers_are_final(status: int, permanent: bool) -> None:
    assert is_permanent(status) is permanent
