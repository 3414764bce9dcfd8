"""Recurring short bursts (analytics/review/bursts.py), periods that hug the run, city time.

Small hand-made days (three desks of one site, a citizen every 2.5 min unless said otherwise)
so that each test shows one behaviour; the benchmarks measure the rates.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicpulse.analytics.review.bursts import find_bursts
from civicpulse.analytics.review.periods import ScanPress, scan
from civicpulse.analytics.review.rules import DEFAULT_REVIEW, ReviewBook
from civicpulse.stream.exceptions import RulesError

from .test_review import MIN, MIX, T0, _desk

RULES = DEFAULT_REVIEW["terminal"]


def _burst(device: str, start: int, presses: int, rng: random.Random, button: int = 4) -> list[
        ScanPress]:  # fmt: skip
    """Staff pressing ``button`` ``presses`` times, 8-12 s apart."""
    out, t = [], start
    for i in range(presses):
        out.append(ScanPress(f"{device}-b{start}-{i}", device, "terminal", "s1", "d1", t, button))
        t += rng.randint(8_000, 12_000)
    return out


def _morning(seed: int, starts_min: list[int], presses: int = 6) -> tuple[
        list[ScanPress], list[list[ScanPress]]]:  # fmt: skip
    """Three honest desks for 8 hours; on desk-1, one burst at each of ``starts_min``."""
    rng = random.Random(seed)
    honest = [p for n in (1, 2, 3) for p in _desk(f"desk-{n}", rng, T0, T0 + 480 * MIN, MIX)]
    bursts = [_burst("desk-1", T0 + m * MIN, presses, rng) for m in starts_min]
    return honest + [p for b in bursts for p in b], bursts


def test_recurring_bursts_each_a_period_from_its_first_to_its_last_press() -> None:
    presses, bursts = _morning(11, [35, 80, 130, 170])
    found = [s for s in scan(presses) if s.pattern == "recurring_bursts"]
    assert [s.device_id for s in found] == ["desk-1"] * 4
    assert [(s.from_ms, s.to_ms) for s in found] == [(b[0].at_ms, b[-1].at_ms) for b in bursts]
    first = found[0]
    assert first.figures["button"] == "4" and first.figures["bursts"] == 4
    # evidence in city time: 08:35 in Warsaw is 07:35 UTC
    assert "4 bursts of button 4 (very happy) on 2026-03-02 (city time, Europe/Warsaw)" in (
        first.evidence
    )
    assert "08:35:00-" in first.evidence and "07:35:00" not in first.evidence


def test_one_or_two_bursts_are_a_short_queue_not_a_pattern() -> None:
    presses, _ = _morning(12, [60, 200])
    assert [s for s in scan(presses) if s.pattern == "recurring_bursts"] == []


def test_a_busy_and_very_happy_desk_alone_is_not_flagged() -> None:
    # a citizen every ~10 s, 85 % pressing 4: short runs of 4 all day long, by chance
    rng = random.Random(13)
    happy = [0.02, 0.03, 0.1, 0.85]
    presses = [
        p
        for n in (1, 2, 3)
        for p in _desk(f"desk-{n}", rng, T0, T0 + 480 * MIN, happy, mean_gap=4_000)
    ]
    desk = [p for p in presses if p.device_id == "desk-1"]
    assert len(find_bursts([p.at_ms for p in desk], [p.button for p in desk], RULES)) > 20
    flagged = [s for s in scan(presses) if s.pattern in ("recurring_bursts", "one_button_run")]
    assert flagged == []


def test_the_same_bursts_on_every_desk_of_the_site_raise_the_expectation() -> None:
    # every desk of the site had bursts that day: the site's desks are the reference
    rng = random.Random(14)
    presses, _ = _morning(14, [35, 80, 130, 170])
    for desk in ("desk-2", "desk-3"):
        for minute in (40, 90, 140, 175, 220):
            presses += _burst(desk, T0 + minute * MIN, 6, rng)
    found = [s for s in scan(presses) if s.pattern == "recurring_bursts"]
    assert {s.device_id for s in found} <= {"desk-1", "desk-2", "desk-3"}
    assert all(s.figures["reference_factor"] > 1 for s in found)


def test_one_neighbours_own_bursts_do_not_excuse_a_desk() -> None:
    # desk-2's staff press bursts too (on other minutes): suspect on their own, they are no
    # queue the site shares, so desk-1 is judged against desk-3 and its own pace alone
    rng = random.Random(15)
    presses, _ = _morning(15, [35, 80, 130, 170])
    for minute in (40, 90, 140, 175, 220):
        presses += _burst("desk-2", T0 + minute * MIN, 6, rng)
    found = [s for s in scan(presses) if s.pattern == "recurring_bursts"]
    by_desk = {d: [s for s in found if s.device_id == d] for d in ("desk-1", "desk-2", "desk-3")}
    assert len(by_desk["desk-1"]) == 4 and len(by_desk["desk-2"]) == 5 and not by_desk["desk-3"]
    assert all(s.figures["reference_factor"] == 1.0 for s in found)
    assert all(s.figures["site_bursts"] == 0 for s in found)


def test_find_bursts_lets_one_citizen_slip_in_and_skips_a_child() -> None:
    t = [0, 9_000, 18_000, 24_000, 27_000, 36_000, 45_000]
    b = [4, 4, 4, 2, 4, 4, 4]
    bursts = find_bursts(t, b, RULES)
    # button 4, and the happy side 3-4 it belongs to
    assert [(x.button, x.first, x.last, x.size) for x in bursts] == [(4, 0, 6, 6), (5, 0, 6, 6)]
    child = [i * 1_000 for i in range(8)]
    assert find_bursts(child, [3] * 8, RULES) == []
    # a pause longer than burst_max_gap ends a burst: two halves too short to count
    assert find_bursts([0, 9_000, 18_000, 60_000, 69_000, 78_000], [4] * 6, RULES) == []
    # longer than burst_max_presses is a desk's steady flow (or a run), not a short burst
    steady = [i * 10_000 for i in range(RULES.burst_max_presses + 1)]
    assert find_bursts(steady, [4] * len(steady), RULES) == []
    assert len(find_bursts(steady[:-1], [4] * (len(steady) - 1), RULES)) == 2  # 4, and 3-4


def test_burst_thresholds_from_the_rules_file() -> None:
    book = ReviewBook.from_toml(
        '[review]\nburst_min_count = 4\nburst_max_gap = "20s"\n[review.web]\n'
        "recurring_bursts = true\n"
    )
    terminal = book.for_device("terminal", None)
    assert terminal.burst_min_count == 4 and terminal.burst_max_gap.total_seconds() == 20
    assert book.for_device("web", None).recurring_bursts is True
    assert DEFAULT_REVIEW["web"].recurring_bursts is False
    with pytest.raises(RulesError, match="burst_min_ratio"):
        ReviewBook.from_toml("[review]\nburst_min_ratio = 0.5\n")
    with pytest.raises(RulesError, match="burst_min_count"):
        replace(RULES, burst_min_count=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    pace_s=st.integers(10, 45),
    presses=st.integers(10, 40),
    honest_gap_s=st.integers(60, 240),
)
def test_periods_never_reach_past_the_first_or_last_press_of_the_run(
    seed: int, pace_s: int, presses: int, honest_gap_s: int
) -> None:
    # citizens never press 4 here, so every press of 4 is the run's: a period of button 4
    # (a run or a burst) must lie within the run, whatever citizens are served around it
    rng = random.Random(seed)
    mix = [0.3, 0.3, 0.4, 0.0]
    honest = [
        p
        for n in (1, 2, 3)
        for p in _desk(f"desk-{n}", rng, T0, T0 + 240 * MIN, mix, mean_gap=honest_gap_s * 1000)
    ]
    start = T0 + 90 * MIN + rng.randrange(0, 30 * MIN)
    run = [
        ScanPress(f"staff-{i}", "desk-1", "terminal", "s1", "d1", start + i * pace_s * 1000, 4)
        for i in range(presses)
    ]
    for period in scan(honest + run):
        if period.pattern in ("one_button_run", "recurring_bursts") and period.figures[
                "button"] in ("4", "3-4"):  # fmt: skip
            assert run[0].at_ms <= period.from_ms <= period.to_ms <= run[-1].at_ms


def test_a_run_period_leaves_out_the_citizens_pressing_4_just_before_and_after_it() -> None:
    # citizens at the run's desk press 4 a minute before it starts and a minute after it ends:
    # the window that opens on them is suspect too (it holds most of the run), but the period
    # is the run, and so are the citizens served around it
    rng = random.Random(21)
    honest = [p for n in (1, 2, 3) for p in _desk(f"desk-{n}", rng, T0, T0 + 240 * MIN,
                                                  [0.3, 0.3, 0.4, 0.0])]  # fmt: skip
    start = T0 + 120 * MIN
    run = [ScanPress(f"staff-{i}", "desk-1", "terminal", "s1", "d1", start + i * 20_000, 4)
           for i in range(30)]  # fmt: skip
    around = [
        ScanPress("before", "desk-1", "terminal", "s1", "d1", start - 70_000, 4),
        ScanPress("after", "desk-1", "terminal", "s1", "d1", run[-1].at_ms + 80_000, 4),
    ]
    (period,) = [s for s in scan(honest + run + around) if s.pattern == "one_button_run"]
    assert (period.from_ms, period.to_ms) == (run[0].at_ms, run[-1].at_ms)
