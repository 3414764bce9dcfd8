"""Labelled days for the misuse review: the simulator's city plus injected staff episodes.

A day is the simulator's demo city (honest citizens, its own staff episodes, children, retries,
...) with ``episodes`` more staff episodes, each in a style drawn from parameters
(:func:`civicpulse.simulator.staff.draw_style`: pace, jitter, button mix, run length,
repetitions, desk busyness), at a random hour on a desk open for the whole episode (chosen by
popularity when the style says ``busy_desk``, else any).

``busy_happy=True`` lets a terminal take a citizen every 10 s on average (queues, the
simulator's default is one every 30 s) and lifts every desk's mood (about 85 % press 4): the
desks where short runs of one button happen by chance most often.

Every staff run is ground truth twice: its presses (labels ``staff_*``) and its span, first to
last press (``Day.runs``), so a benchmark can tell citizens served during a run from citizens
flagged around it. Every press goes through the stream's judge before the scan, as in
production.
"""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson

from civicpulse.analytics.review.offline import scanned
from civicpulse.analytics.review.periods import ScanPress
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.simulator import generate as simulator
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation, format_ms
from civicpulse.simulator.staff import StaffStyle, draw_style, staff_runs
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

__all__ = ["Day", "make_day", "scanned_presses"]

START = datetime(2026, 11, 23, 5, tzinfo=UTC)  # 06:00 in Warsaw: before the desks open
#: how much happier every desk is on a busy and very happy day (simulator mood units)
HAPPY_LIFT = 1.0


@dataclass
class Day:
    """Raw lines in arrival order with their ground truth, the city's catalogue, and the span
    (first, last press ms) of every staff run by device."""

    catalogue: Catalogue
    lines: list[bytes]
    labels: list[str]
    devices: list[str]
    pressed_ms: list[int | None]
    runs: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    #: every staff episode: (device id, its style, the spans of its runs), for per-style figures
    episodes: list[tuple[str, StaffStyle, list[tuple[int, int]]]] = field(default_factory=list)


@contextmanager
def _terminal_rate(rate: float) -> Iterator[None]:
    saved = simulator.TERMINAL_MAX_RATE
    simulator.TERMINAL_MAX_RATE = rate
    try:
        yield
    finally:
        simulator.TERMINAL_MAX_RATE = saved


def _line(rng: random.Random, device_id: str, ms: int, button: int) -> bytes:
    stamp = format_ms(ms)
    record = {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
              "channel": "terminal", "device_id": device_id, "button": button,
              "pressed_at": stamp, "received_at": format_ms(ms + 150)}  # fmt: skip
    return orjson.dumps(record)


def _simulation(seed: int, hours: float, rate: float, busy_happy: bool) -> Simulation:
    with _terminal_rate(0.1 if busy_happy else simulator.TERMINAL_MAX_RATE):
        sim = Simulation(PRESETS["demo"], START, timedelta(hours=hours), rate, seed)
    if busy_happy:
        lifted = tuple(
            replace(d, quality=d.quality + HAPPY_LIFT) if d.role == "desk" else d
            for d in sim.city.devices
        )
        sim.city = replace(sim.city, devices=lifted)
    return sim


def _simulator_runs(sim: Simulation, day: Day) -> None:
    """The spans of the simulator's own staff runs (an episode re-expands from its seed)."""
    for episode in sim.plan.episodes:
        if episode.label == "staff_self_rating":
            style = StaffStyle(**episode.detail["style"])
            spans = [
                (episode.start_ms + run[0][0], episode.start_ms + run[-1][0])
                for run in staff_runs(style, random.Random(episode.seed))
            ]
            day.runs.setdefault(episode.device_id, []).extend(spans)
            day.episodes.append((episode.device_id, style, spans))


def make_day(
    seed: int, hours: float, rate: float, *, busy_happy: bool = False, episodes: int = 8
) -> Day:
    """One labelled day: the simulator's city and ``episodes`` injected staff episodes."""
    sim = _simulation(seed, hours, rate, busy_happy)
    with _terminal_rate(0.1 if busy_happy else simulator.TERMINAL_MAX_RATE):
        presses = list(sim.presses())
    rng = random.Random(f"{seed}:misuse")
    rows: list[tuple[int, bytes, str, str, int | None]] = []
    for p in presses:
        record = orjson.loads(p.line) if p.event_id is not None else None
        pressed = _ms(record["pressed_at"]) if record else None
        rows.append((p.arrival_ms, p.line, p.label, p.device_id, pressed))
    day = Day(catalogue=sim.catalogue(), lines=[], labels=[], devices=[], pressed_ms=[])
    _simulator_runs(sim, day)
    desks = [d for d in sim.city.devices if d.role == "desk"]
    for _ in range(episodes):
        style = draw_style(rng)
        need = style.nominal_ms() * 3 // 2
        for _ in range(50):
            device = rng.choices(desks, [d.popularity if style.busy_desk else 1.0 for d in desks])[
                0
            ]
            start = rng.randrange(sim.start_ms, max(sim.start_ms + 1, sim.end_ms - need))
            if sim.city.is_open(device, start) and sim.city.is_open(device, start + need):
                break
        else:
            continue
        spans = []
        for run in staff_runs(style, rng):
            spans.append((start + run[0][0], start + run[-1][0]))
            for offset, button in run:
                ms = start + offset
                line = _line(rng, device.device_id, ms, button)
                rows.append((ms + 150, line, "staff_drawn", device.device_id, ms))
        day.runs.setdefault(device.device_id, []).extend(spans)
        day.episodes.append((device.device_id, style, spans))
    rows.sort(key=lambda r: r[0])
    day.lines = [r[1] for r in rows]
    day.labels = [r[2] for r in rows]
    day.devices = [r[3] for r in rows]
    day.pressed_ms = [r[4] for r in rows]
    return day


def _ms(stamp: str) -> int:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def scanned_presses(day: Day) -> list[ScanPress]:
    """The presses the review scans: every line through the stream's judge, as in production."""
    judge = Judge(day.catalogue, RuleBook.defaults(), MemoryStore())
    return list(scanned(day.lines, judge, io.StringIO()))
