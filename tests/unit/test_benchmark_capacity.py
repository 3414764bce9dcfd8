"""The capacity benchmark's pure parts: the rate search, the step verdict, the CPU accounting."""

from __future__ import annotations

import math
import os

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.capacity import (
    LADDER,
    RateSearch,
    backlog_slope,
    cores_needed,
    judge_step,
    parse_cpu_ticks,
    parse_parent,
    process_cpu_seconds,
    tree_ticks,
    us_per_press,
)


def _run(search: RateSearch, capacity: float) -> list[float]:
    tried = []
    while (rate := search.next_rate()) is not None:
        tried.append(rate)
        search.record(rate, rate <= capacity)
    return tried


@given(st.sampled_from((0.0, *LADDER)))
def test_bisection_finds_the_highest_rate_that_holds_in_at_most_three_steps(true: float) -> None:
    search = RateSearch()
    tried = _run(search, true)
    assert search.capacity == true
    assert len(tried) <= 3
    assert tried[0] == 1000.0


@given(st.sampled_from((0.0, *LADDER)))
def test_the_climb_tries_every_rate_up_to_the_first_failure(true: float) -> None:
    search = RateSearch(bisect=False)
    tried = _run(search, true)
    assert search.capacity == true
    held = [r for r in LADDER if r <= true]
    assert tried == held + [r for r in LADDER if r > true][:1]


def test_bisection_from_the_target_goes_up_then_down() -> None:
    search = RateSearch()
    assert _run(search, 1250.0) == [1000.0, 1500.0, 1250.0]


@given(
    st.floats(-500, 500, allow_nan=False),
    st.floats(0, 10_000, allow_nan=False),
    st.integers(2, 80),
)
def test_slope_of_a_straight_line_is_its_slope(slope: float, start: float, n: int) -> None:
    samples = [(float(t), start + slope * t) for t in range(n)]
    assert math.isclose(backlog_slope(samples), slope, rel_tol=1e-6, abs_tol=1e-6)


def test_slope_needs_two_times() -> None:
    assert backlog_slope([]) == 0.0
    assert backlog_slope([(1.0, 5.0)]) == 0.0
    assert backlog_slope([(1.0, 5.0), (1.0, 9.0)]) == 0.0


def test_a_saw_tooth_backlog_does_not_grow_but_a_deficit_does() -> None:
    rate = 1000.0
    # batches of 0.2 s: the backlog jumps between 0 and 200 presses, no trend
    saw = [(t / 10, 200.0 * ((t // 2) % 2)) for t in range(500)]
    assert judge_step(rate, 450.0, saw, 0).held
    # 2 % short of the rate: 20 presses more a second, 1,000 after 50 s
    deficit = [(float(t), 100.0 + 20.0 * t) for t in range(51)]
    verdict = judge_step(rate, 800.0, deficit, 0)
    assert not verdict.held and "backlog grew" in verdict.reason
    assert math.isclose(verdict.growth, 1000.0)


def test_a_step_fails_on_its_p99_missing_verdicts_or_an_early_stop() -> None:
    flat = [(float(t), 100.0) for t in range(10)]
    stall = judge_step(500.0, 1000.0, flat, 0)
    assert not stall.held and stall.kept_up  # a p99 over the target, the backlog flat
    missing = judge_step(500.0, 200.0, flat, 3)
    assert "3 presses" in missing.reason and not missing.kept_up
    stopped = judge_step(500.0, 200.0, flat, 0, stopped_early=True)
    assert not stopped.held and "stopped early" in stopped.reason and not stopped.kept_up
    growing = judge_step(1000.0, 200.0, [(float(t), 100.0 + 20.0 * t) for t in range(51)], 0)
    assert not growing.kept_up


def test_cpu_ticks_count_after_the_command_name_even_with_parentheses() -> None:
    fields = ["S", "41", *["0"] * 9, "250", "50", "7", "3"]
    stat = "1234 (python (x) y) " + " ".join(fields)
    assert parse_cpu_ticks(stat) == 300
    assert parse_parent(stat) == 41


def test_tree_ticks_sum_a_process_and_its_descendants_only() -> None:
    def stat(pid: int, parent: int, ticks: int) -> str:
        return f"{pid} (p) S {parent} " + " ".join(["0"] * 9 + [str(ticks), "0"])

    stats = {1: stat(1, 0, 1), 10: stat(10, 1, 100), 11: stat(11, 10, 20), 12: stat(12, 11, 3)}
    stats[20] = stat(20, 1, 5000)
    assert tree_ticks(10, stats) == 123
    assert tree_ticks(12, stats) == 3
    assert tree_ticks(99, stats) == 0


def test_this_process_cpu_time_grows_with_work() -> None:
    before = process_cpu_seconds(os.getpid())
    sum(i * i for i in range(3_000_000))
    assert process_cpu_seconds(os.getpid()) > before


def test_cost_per_press_and_cores() -> None:
    assert us_per_press(1.5, 3000) == 500.0
    assert math.isnan(us_per_press(1.0, 0))
    assert cores_needed(500.0, 2000.0) == 1.0
