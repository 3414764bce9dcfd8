"""One-button runs (analytics/review/runs.py): where a run of 3 and 4 pauses on one button.

Staff who lift their desk with 3 and 4 press 3 twice or three times in a row now and then; the
run of 4 then pauses for several paces, yet the person never stopped. A run is cut only where
it really pauses: where something other than its side was pressed, or nothing at all.
"""

from __future__ import annotations

import random

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
