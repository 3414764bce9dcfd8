"""SIGKILL the stream worker, the sink and the broker at random moments; nothing lost or doubled.

The short CI version of ``benchmarks/faults.py`` (which runs 10+ rounds and a one-minute broker
outage): 3 seeded rounds, each killing all three at random moments and restarting each, while
the simulator's presses flow with poison at random offsets; then terminals press through a
short broker outage. ClickHouse must hold exactly the presses that were made, once each, with
the replay's verdicts, every unreadable message dead-lettered and verify passing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .run import FaultConfig, run_faults

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_three_kill_rounds_and_a_broker_outage_lose_and_double_nothing(tmp_path: Path) -> None:
    outcome = run_faults(
        FaultConfig(rounds=3, round_seconds=12, rate=150, seed=3, poison=8, outage_seconds=15),
        tmp_path,
    )
    print(outcome.summary())
    assert outcome.problems() == [], outcome.summary()
    assert outcome.verify_ok, outcome.verify_mismatches[:5]
    assert outcome.kills["worker"] >= 3 and outcome.kills["sink"] >= 3
    assert outcome.kills["broker"] >= 4  # three rounds and the outage
    assert outcome.dead_expected >= 8  # the poison, and the simulator's malformed lines
    assert outcome.outage is not None and outcome.outage.pressed_while_down > 0
