"""What ``civicpulse demo`` decides before its city starts, as pure functions.

* :func:`busy_clock_shift`: the demo city lives on its own clock, moved so that the run starts
  at 10:00 on a working day in the city's zone, whatever the wall-clock hour. Only the city's
  day moves (opening hours, traffic, moods); ``pressed_at`` and ``received_at`` stay the real
  time, so the anti-spam rules (``clock_skew``) and the score windows see a live city.
* :func:`choose_degraded` and :func:`surge_rate`: which department degrades, and how many
  unhappy presses a second its web page draws on top of the city's rate. The alert rule looks at
  rolling 15-minute windows, and on a reused data dir those windows still hold the previous
  run's presses of the department (healthy ones, mostly): the surge is sized from them so that
  the first window that ends a minute into the run is already below the threshold (on a fresh
  store there is none: that window holds only the run's own, degraded, presses).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation

__all__ = [
    "BUSY_HOUR",
    "SURGE_PER_STORED",
    "busy_clock_shift",
    "choose_degraded",
    "demo_simulation",
    "run_start",
    "surge_rate",
]

#: the demo city's local hour at the start of every run (all desks open, the day's top traffic)
BUSY_HOUR = 10
#: surge presses in the first minute per press of the department already in the window: a
#: 15-minute window with P previous presses (score <= 100) and D degraded ones (score ~10) is
#: below 50 once D > 1.25 P; 1.5 leaves a margin (measured: tests/unit/test_demo_plan.py)
SURGE_PER_STORED = 1.5


def busy_clock_shift(now: datetime, zone: ZoneInfo, hour: int = BUSY_HOUR) -> timedelta:
    """How far ahead of ``now`` the city's clock runs so that ``now`` is ``hour``:00 of a
    working day in ``zone`` (the same local day when it is a weekday, else the Friday before)."""
    day = now.astimezone(zone).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    target = datetime.combine(day, time(hour), tzinfo=zone)
    return target - now


def choose_degraded(
    departments: Sequence[str],
    *,
    open_alerts: Collection[str],
    recent_presses: Mapping[str, int],
    seed: int,
) -> str:
    """The department to degrade: one without an open alert (an open alert cannot open again),
    with the fewest presses in the last 15 minutes; ties broken by the seed."""
    if not departments:
        raise ValueError("the city has no department to degrade")
    candidates = [d for d in departments if d not in open_alerts] or list(departments)
    fewest = min(recent_presses.get(d, 0) for d in candidates)
    tied = [d for d in candidates if recent_presses.get(d, 0) == fewest]
    return random.Random(f"{seed}:degraded").choice(tied)


def surge_rate(recent_presses: int) -> float:
    """Extra presses a second on the degraded department's web page: enough that its first
    minute outweighs the ``recent_presses`` the department already has in the 15-minute window
    (none on a fresh store: the window holds only the run's own, degraded, presses)."""
    return SURGE_PER_STORED * recent_presses / 60


def run_start(now: datetime) -> datetime:
    """The city starts at the beginning of the current minute (its first seconds are sent at
    once): the first rolling window that ends then holds a whole minute of the run."""
    return now.replace(second=0, microsecond=0)


def demo_simulation(
    *,
    now: datetime,
    span: timedelta,
    rate: float,
    seed: int,
    degrade_after: timedelta = timedelta(0),
    open_alerts: Collection[str] = (),
    recent_presses: Mapping[str, int] | None = None,
) -> Simulation:
    """The demo city's run from ``run_start(now)``: in its busy hours, one department degraded
    ``degrade_after`` into the run, its web page surging (``open_alerts`` and
    ``recent_presses``, per department, describe what the store already holds: see
    :func:`choose_degraded`)."""
    preset = PRESETS["demo"]
    start = run_start(now)
    shift = busy_clock_shift(start, ZoneInfo(preset.timezone))
    recent = recent_presses or {}
    plain = Simulation(preset, start, span, rate, seed, clock_shift=shift)
    departments = [d.department_id for d in plain.city.departments]
    degraded = choose_degraded(
        departments, open_alerts=open_alerts, recent_presses=recent, seed=seed
    )
    return Simulation(
        preset, start, span, rate, seed,
        degrade_after=degrade_after, degraded=degraded, clock_shift=shift,
        surge=surge_rate(recent.get(degraded, 0)),
    )  # fmt: skip
