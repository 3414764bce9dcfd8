"""One-button runs (analytics/review/runs.py): where a run of 3 and 4 pauses on one button.

Staff who lift their desk with 3 and 4 press 3 twice or three times in a row now and then; the
run of 4 then pauses for several paces, yet the person never stopped. A run is cut only where
it really pauses: where something other than its side was pressed, or nothing at all.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicpulse.analytics.review.periods import ScanPress, scan

from .test_review import MIN, T0, _desk

PACE_MS = 30_000


def _run(buttons: list[int], start: int) -> list[ScanPress]:
    return [
        ScanPress(f"staff-{i}", "desk-1", "terminal", "s1", "d1", start + i * PACE_MS, b)
        for i, b in enumerate(buttons)
    ]


def _periods_of_4(presses: list[ScanPress]) -> list[tuple[int, int]]:
    return [
        (s.from_ms, s.to_ms)
        for s in scan(presses)
        if s.pattern == "one_button_run" and s.figures["button"] == "4"
    ]


def _honest(seed: int) -> list[ScanPress]:
    rng = random.Random(seed)
    mix = [0.3, 0.3, 0.4, 0.0]  # citizens never press 4: every 4 is the run's
    return [p for n in (1, 2, 3) for p in _desk(f"desk-{n}", rng, T0, T0 + 240 * MIN, mix)]


def test_a_run_of_4_that_presses_3_three_times_in_a_row_is_one_period() -> None:
    # the 4s pause for four paces (2 min, more than three times the run's 30 s): filled with 3s
    buttons = [4] * 18 + [3, 3, 3] + [4] * 18
    run = _run(buttons, T0 + 120 * MIN)
    assert _periods_of_4(_honest(5) + run) == [(run[0].at_ms, run[-1].at_ms)]


def test_two_runs_with_a_citizen_between_them_stay_two_periods() -> None:
    # the same pause with a citizen's 1 in it (and a longer gap): the run stopped, the citizen
    # served between the two runs is in neither period
    first = _run([4] * 18, T0 + 120 * MIN)
    citizen = ScanPress("citizen", "desk-1", "terminal", "s1", "d1", first[-1].at_ms + 90_000, 1)
    second = _run([4] * 18, first[-1].at_ms + 180_000)
    periods = _periods_of_4([*_honest(5), *first, citizen, *second])
    assert periods == [(first[0].at_ms, first[-1].at_ms), (second[0].at_ms, second[-1].at_ms)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    pace_s=st.integers(15, 40),
    presses=st.integers(24, 32),
    happy_share=st.floats(0.75, 0.95),
)
def test_every_4_of_a_steady_run_of_3_and_4_is_in_a_period_within_the_run(
    seed: int, pace_s: int, presses: int, happy_share: float
) -> None:
    # citizens press 1 and 2 only, and none is served during the run: every 3 and 4 is the
    # run's. However its 3s fall (three or four in a row now and then), every press of 4 is
    # inside a period of 4, and every such period lies within the run. (A citizen served during
    # a pause of several paces may cut it: two runs with a citizen between are two periods.)
    rng = random.Random(seed)
    honest = [
        p
        for n in (1, 2, 3)
        for p in _desk(f"desk-{n}", rng, T0, T0 + 240 * MIN, [0.5, 0.5, 0.0, 0.0])
    ]
    buttons = [4 if rng.random() < happy_share else 3 for _ in range(presses)]
    buttons[0] = buttons[-1] = 4
    start, end = T0 + 100 * MIN, T0 + 100 * MIN + presses * pace_s * 1000
    honest = [p for p in honest if p.device_id != "desk-1" or not start <= p.at_ms <= end]
    run = [
        ScanPress(f"staff-{i}", "desk-1", "terminal", "s1", "d1", start + i * pace_s * 1000, b)
        for i, b in enumerate(buttons)
    ]
    periods = _periods_of_4(honest + run)
    assert all(run[0].at_ms <= a <= b <= run[-1].at_ms for a, b in periods), (buttons, periods)
    missed = [p.at_ms for p in run if p.button == 4 and not any(a <= p.at_ms <= b
                                                                for a, b in periods)]  # fmt: skip
    assert not missed, (buttons, periods)
