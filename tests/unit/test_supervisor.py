"""The supervisor that keeps ``civicpulse up``'s stream worker running (real child processes)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from civicpulse.supervisor import Supervisor


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _exits_of(code: str, count: int, **options: Any) -> list[tuple[int, float]]:
    """Supervise ``python -c code`` until it exited ``count`` times: (status, delay) each."""
    exits: list[tuple[int, float]] = []
    supervisor = Supervisor(
        [sys.executable, "-c", code],
        on_exit=lambda status, delay: exits.append((status, delay)),
        **options,
    )
    supervisor.start()
    try:
        _until(lambda: len(exits) >= count)
    finally:
        supervisor.stop()
    assert supervisor.starts >= count
    return exits[:count]


def test_a_child_that_exits_is_restarted_with_growing_delays() -> None:
    exits = _exits_of("raise SystemExit(75)", 4, first_delay=0.05, max_delay=0.2)
    assert exits == [(75, 0.05), (75, 0.1), (75, 0.2), (75, 0.2)]


def test_a_child_that_ran_long_enough_restarts_after_the_first_delay_again() -> None:
    code = "import time; time.sleep(0.3); raise SystemExit(1)"
    exits = _exits_of(code, 3, first_delay=0.05, max_delay=5.0, healthy_after=0.2)
    assert exits == [(1, 0.05), (1, 0.05), (1, 0.05)]


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
