"""The rhythm test of recurring bursts (analytics/review/stats.py ``rhythm_chance``,
analytics/review/bursts.py ``_by_rhythm``): staff keep a rhythm, citizens do not.

Small hand-made days as in test_review_bursts.py; the benchmarks measure the rates.
"""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from civicpulse.analytics.review.periods import ScanPress, scan
from civicpulse.analytics.review.rules import DEFAULT_REVIEW, ReviewBook
from civicpulse.analytics.review.stats import RHYTHM_DRAWS, RHYTHM_MIN_POOL, rhythm_chance

from .test_review import MIN, MIX, T0, _desk

RULES = DEFAULT_REVIEW["terminal"]


def _citizen_gaps(rng: random.Random, n: int) -> list[int]:
    """Short gaps between citizens: a 6 s service floor plus exponential, at most 20 s."""
    gaps: list[int] = []
    while len(gaps) < n:
        gap = 6_000 + int(rng.expovariate(1 / 10_000))
        if gap <= 20_000:
            gaps.append(gap)
    return gaps


def test_a_metronome_is_as_unlikely_as_the_resampling_can_say() -> None:
    pool = _citizen_gaps(random.Random(1), 200)
    assert rhythm_chance([10_000, 10_100, 9_950, 10_050], pool, "x") == 1 / (RHYTHM_DRAWS + 1)


def test_no_evidence_without_a_reference_or_with_one_gap() -> None:
    pool = _citizen_gaps(random.Random(2), 200)
    assert rhythm_chance([10_000, 10_000], pool[: RHYTHM_MIN_POOL - 1], "x") == 1.0
    assert rhythm_chance([10_000], pool, "x") == 1.0


def test_the_same_seed_gives_the_same_chance() -> None:
    pool = _citizen_gaps(random.Random(3), 100)
    gaps = [9_000, 12_000, 15_000]
    assert rhythm_chance(gaps, pool, "desk-1:5") == rhythm_chance(gaps, pool, "desk-1:5")


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.integers(3, 7))
def test_citizens_gaps_are_not_called_even_more_often_than_the_chance_says(
    seed: int, size: int
) -> None:
    # calibration: gaps drawn from the same distribution as the pool fall at or under 0.1
    # about one time in ten (120 tries: 12 expected; over 300 seeds at most 20 were seen, and
    # 25 once failed this test: the tries share one pool, so they spread a little more than a
    # binomial, whose chance of 28 or more is 2e-5; a miscalibrated 0.25 would give about 30)
    rng = random.Random(seed)
    pool = _citizen_gaps(rng, 300)
    below = sum(
        rhythm_chance(_citizen_gaps(rng, size - 1), pool, f"{seed}:{i}") <= 0.1 for i in range(120)
    )
    assert below < 28


def _bursts_of_four(desk: str, rng: random.Random, starts_min: list[int]) -> list[ScanPress]:
    """Staff pressing 4 four times, 10 s apart within 0.2 s, at each start."""
    return [
        ScanPress(
            f"{desk}-r{m}-{i}",
            desk,
            "terminal",
            "s1",
            "d1",
            T0 + m * MIN + i * 10_000 + rng.randint(-200, 200),
            4,
        )
        for m in starts_min
        for i in range(4)
    ]


def _site(seed: int) -> list[ScanPress]:
    """Three desks, a citizen every 40 s: short gaps enough to know the citizens' rhythm."""
    rng = random.Random(seed)
    return [p for n in (1, 2, 3)
            for p in _desk(f"desk-{n}", rng, T0, T0 + 480 * MIN, MIX, mean_gap=40_000)]  # fmt: skip


def test_bursts_of_four_in_a_rhythm_are_flagged_each_as_its_own_period() -> None:
    rng = random.Random(31)
    bursts = _bursts_of_four("desk-1", rng, [40, 110, 190, 260, 330])
    found = [s for s in scan(_site(31) + bursts) if s.pattern == "recurring_bursts"]
    assert {s.device_id for s in found} == {"desk-1"}
    assert all(s.figures["test"] == "rhythm" for s in found)
    assert "more even than this desk's own short gaps" in found[0].evidence
    # button 4's periods are the staff bursts, first to last press (one of the five took in a
    # citizen's 4 and lost its rhythm; the side 3-4 may add a citizens' burst of that desk)
    spans = {(bursts[4 * k].at_ms, bursts[4 * k + 3].at_ms) for k in range(5)}
    fours = {(s.from_ms, s.to_ms) for s in found if s.figures["button"] == "4"}
    assert len(fours) >= 3 and fours <= spans
    # the count test alone (bursts of 5 or more) does not see bursts of four
    off = ReviewBook(channels={**DEFAULT_REVIEW, "terminal": replace(RULES, rhythm_chance=0.0)})
    assert [s for s in scan(_site(31) + bursts, book=off)
            if s.pattern == "recurring_bursts"] == []  # fmt: skip


def test_a_site_alone_has_no_rhythmic_bursts() -> None:
    assert [s for s in scan(_site(32)) if s.pattern == "recurring_bursts"] == []
