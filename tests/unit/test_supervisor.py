"""The supervisor that keeps ``civicpulse up``'s stream worker running (real child processes)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from civicpulse.supervisor import Supervisor


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_child_that_exits_is_restarted_with_growing_delays() -> None:
    exits: list[tuple[int, float]] = []
    supervisor = Supervisor(
        [sys.executable, "-c", "raise SystemExit(75)"],
        on_exit=lambda status, delay: exits.append((status, delay)),
        first_delay=0.05,
        max_delay=0.2,
    )
    supervisor.start()
    try:
        _until(lambda: len(exits) >= 4)
    finally:
        supervisor.stop()
    assert supervisor.starts >= 4
    assert [status for status, _ in exits[:4]] == [75, 75, 75, 75]
    assert [delay for _, delay in exits[:4]] == [0.05, 0.1, 0.2, 0.2]


def test_stop_terminates_the_child_and_restarts_nothing() -> None:
    exits: list[tuple[int, float]] = []
    supervisor = Supervisor(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        on_exit=lambda status, delay: exits.append((status, delay)),
        first_delay=0.01,
    )
    supervisor.start()
    _until(lambda: supervisor.pid is not None)
    status = supervisor.stop(timeout=10)
    assert status == -15  # SIGTERM
    time.sleep(0.2)
    assert supervisor.starts == 1
    assert exits == []


def test_a_child_that_ran_long_enough_restarts_after_the_first_delay_again() -> None:
    exits: list[tuple[int, float]] = []
    supervisor = Supervisor(
        [sys.executable, "-c", "import time; time.sleep(0.3); raise SystemExit(1)"],
        on_exit=lambda status, delay: exits.append((status, delay)),
        first_delay=0.05,
        max_delay=5.0,
        healthy_after=0.2,
    )
    supervisor.start()
    try:
        _until(lambda: len(exits) >= 3)
    finally:
        supervisor.stop()
    assert [delay for _, delay in exits[:3]] == [0.05, 0.05, 0.05]
