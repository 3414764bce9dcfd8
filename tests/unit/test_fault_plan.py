"""The fault suite's seeded schedule (tests/faults/plan.py), without any process or broker."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.plan import TARGETS, kill_plan, poison_positions


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
