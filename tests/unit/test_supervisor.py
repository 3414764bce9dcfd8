"""The supervisor that keeps ``civicpulse up``'s stream worker running (real child processes)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

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


def test_restarts_are_counted_for_prometheus_and_a_stop_is_not() -> None:
    name = f"test-child-{uuid.uuid4().hex[:8]}"
    exits: list[int] = []
    supervisor = Supervisor(
        [sys.executable, "-c", "raise SystemExit(3)"],
        on_exit=lambda status, delay: exits.append(status),
        first_delay=0.01,
        max_delay=0.01,
        name=name,
    )
    supervisor.start()
    _until(lambda: len(exits) >= 3)
    supervisor.stop()
    count = REGISTRY.get_sample_value("civicpulse_supervisor_restarts_total", {"child": name})
    assert count == len(exits) >= 3

    stopped = f"test-child-{uuid.uuid4().hex[:8]}"
    sleeper = Supervisor([sys.executable, "-c", "import time; time.sleep(60)"], name=stopped)
    sleeper.start()
    _until(lambda: sleeper.pid is not None)
    sleeper.stop(timeout=10)
    assert not REGISTRY.get_sample_value("civicpulse_supervisor_restarts_total", {"child": stopped})


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


_PARENT = """
import sys, time
from civicpulse.supervisor import Supervisor
supervisor = Supervisor([sys.executable, "-c", "import time; time.sleep(120)"])
supervisor.start()
while supervisor.pid is None:
    time.sleep(0.01)
print(supervisor.pid, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a reaper-less container may leave the dead child unreaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_the_child_dies_when_its_supervising_process_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _running(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        _until(lambda: not _running(child), timeout=5.0)
    finally:
        parent.kill()
        parent.wait()
