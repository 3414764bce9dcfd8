"""The fault suite's seeded schedule (tests/faults/plan.py), without any process or broker."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.faults.cluster_run import busy_start, longest_gap
from tests.faults.plan import TARGETS, cluster_plan, kill_plan, poison_positions


def test_every_round_kills_each_target_once_and_restarts_it_within_the_round() -> None:
    rounds, length = 10, 12.0
    plan = kill_plan(7, rounds, length, max_down=3.0)
    assert plan == sorted(plan)
    for number in range(rounds):
        mine = [a for a in plan if a.round == number]
        kills = {a.target: a.at for a in mine if a.verb == "kill"}
        restarts = {a.target: a.at for a in mine if a.verb == "restart"}
        assert set(kills) == set(restarts) == set(TARGETS)
        for target in TARGETS:
            assert number * length <= kills[target] <= number * length + 0.6 * length
            assert 0.2 <= restarts[target] - kills[target] <= 3.0
            assert restarts[target] < (number + 1) * length


def test_one_seed_one_schedule_and_seeds_differ() -> None:
    assert kill_plan(3, 4, 10.0) == kill_plan(3, 4, 10.0)
    assert kill_plan(3, 4, 10.0) != kill_plan(4, 4, 10.0)
    firsts = Counter(kill_plan(seed, 1, 10.0)[0].target for seed in range(60))
    assert set(firsts) == set(TARGETS)  # the order within a round is random too


def test_a_round_too_short_for_its_restarts_is_refused() -> None:
    with pytest.raises(ValueError, match="round_seconds"):
        kill_plan(1, 3, 5.0, max_down=3.0)


def test_poison_positions_are_distinct_sorted_and_seeded() -> None:
    spots = poison_positions(5, 1000, 20)
    assert spots == sorted(set(spots)) and len(spots) == 20
    assert all(0 <= s < 1000 for s in spots)
    assert spots == poison_positions(5, 1000, 20) != poison_positions(6, 1000, 20)


# ---- the cluster rounds (tests/faults/cluster_run.py, benchmarks/cluster.py) ---------------


@given(st.integers(0, 10_000), st.integers(6, 14), st.floats(12.0, 60.0))
def test_cluster_plan_kills_two_nodes_and_rebalances_four_times_every_six_rounds(
    seed: int, rounds: int, round_seconds: float
) -> None:
    plan = cluster_plan(seed, rounds, round_seconds)

    assert len(plan) == rounds and plan == sorted(plan)
    faults = [f.fault for f in plan]
    assert faults.count("kill-leader") >= 2 * (rounds // 6)
    assert len(faults) - faults.count("kill-leader") >= 4 * (rounds // 6)
    for fault in plan:
        start = fault.round * round_seconds
        assert start < fault.at < start + round_seconds / 2
        if fault.fault.startswith("kill"):
            assert fault.back is not None and fault.at + fault.back < start + round_seconds
        else:
            assert fault.back is None
    # two workers at the start; adding before stopping keeps two or three in the group
    workers = 2
    for kind in faults:
        workers += {"add-worker": 1, "stop-worker": -1}.get(kind, 0)
        assert workers in (2, 3)


def test_cluster_plan_is_the_same_for_a_seed() -> None:
    assert cluster_plan(5, 6, 20.0) == cluster_plan(5, 6, 20.0)
    assert cluster_plan(5, 6, 20.0) != cluster_plan(6, 6, 20.0)


def test_cluster_plan_refuses_rounds_too_short_for_a_restart() -> None:
    with pytest.raises(ValueError, match="round_seconds"):
        cluster_plan(1, 6, 10.0)


@given(st.lists(st.floats(0.0, 100.0), max_size=50))
def test_longest_gap_bounds_every_stretch_without_a_stamp(stamps: list[float]) -> None:
    gap = longest_gap(stamps, 10.0, 60.0)
    inside = sorted(s for s in stamps if 10.0 <= s <= 60.0)
    assert 0.0 <= gap <= 50.0
    points = [10.0, *inside, 60.0]
    assert all(b - a <= gap for a, b in itertools.pairwise(points))
    assert any(b - a == gap for a, b in itertools.pairwise(points))


def test_busy_start_is_the_latest_working_morning_before_now() -> None:
    saturday_night = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
    assert busy_start(saturday_night, 2.0) == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert busy_start(monday_noon, 2.0) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    monday_early = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert busy_start(monday_early, 2.0) == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
