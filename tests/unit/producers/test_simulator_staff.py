"""Staff styles drawn from parameters (simulator/staff.py): the drawn values stay in
their documented ranges and an episode's presses are what its style says."""

from __future__ import annotations

import random
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from civicpulse.simulator.staff import (
    MIN_STAFF_GAP_MS,
    StaffStyle,
    draw_style,
    staff_presses,
    staff_runs,
)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_a_drawn_style_stays_in_its_ranges(seed: int) -> None:
    style = draw_style(random.Random(seed))
    if style.repetitions == 1:
        assert 10 <= style.pace_s <= 60 and 8 <= style.run_presses <= 40
    else:
        assert 2 <= style.repetitions <= 6
        assert 6 <= style.pace_s <= 14 and 4 <= style.run_presses <= 8
    assert 0 <= style.jitter <= 0.6 and 0.5 <= style.happy_share <= 1
    assert 10 <= style.pause_min <= 45
    assert StaffStyle(**style.detail()) == style  # an episode carries it as its detail


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), expand=st.integers(0, 2**32))
def test_an_episode_is_what_its_style_says(seed: int, expand: int) -> None:
    style = draw_style(random.Random(seed))
    runs = staff_runs(style, random.Random(expand))
    assert len(runs) == style.repetitions
    assert all(len(run) == style.run_presses for run in runs)
    spread = style.jitter * style.pace_s * 1000
    for run in runs:
        for (a, _), (b, _) in pairwise(run):
            assert b - a >= MIN_STAFF_GAP_MS - 1
            assert b - a <= max(style.pace_s * 1000 + spread, MIN_STAFF_GAP_MS) + 1
    for before, after in pairwise(runs):
        assert after[0][0] - before[-1][0] >= 0.5 * style.pause_min * 60_000 - 1
    assert {button for run in runs for _, button in run} <= {3, 4}
    flat = staff_presses(style, random.Random(expand))
    assert flat == [press for run in runs for press in run]  # same seed, same presses
