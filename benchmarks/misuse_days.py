"""Labelled days for the misuse review: the simulator's city plus injected staff behaviours.

A day is the simulator's demo city (honest citizens, its own staff episodes, children, retries,
...) with extra staff episodes on desks that are open at the time, in four behaviours:

* ``staff_fixed``: button 4 at a fixed pace (15-45 s, +-1 s), 5-15 min;
* ``staff_jittered``: button 4, gaps drawn from 10-60 s, 8-20 min;
* ``staff_bursts``: 3-5 presses 6-12 s apart between citizens (pauses of 1-2.5 min), 15-25 min;
* ``staff_several``: buttons 3 and 4 at random, gaps 10-40 s, 8-15 min.

``busy=True`` lets a terminal take a citizen every 10 s on average (queues) instead of every 30 s.
Every press goes through the stream's judge before the scan, as in production.
"""

from __future__ import annotations

import io
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from civicpulse.producers import simulator
from civicpulse.producers.city import PRESETS
from civicpulse.producers.simulator import Simulation, format_ms
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.stream.judge import Judge, MemoryStore
from civicpulse.stream.review import ScanPress, Suspect, scan
from civicpulse.stream.review_cli import scanned
from civicpulse.stream.rules import RuleBook

__all__ = [
    "BEHAVIOURS",
    "Day",
    "Tally",
    "evaluate",
    "make_day",
    "scan_day",
    "staff_episode",
]

BEHAVIOURS = ("staff_fixed", "staff_jittered", "staff_bursts", "staff_several")
START = datetime(2026, 11, 23, 5, tzinfo=UTC)  # 06:00 in Warsaw: before the desks open


@dataclass
class Day:
    """Raw lines in arrival order with their ground truth, and the city's catalogue."""

    catalogue: Catalogue
    lines: list[bytes]
    labels: list[str]
    devices: list[str]
    pressed_ms: list[int | None]
    channels: list[str]


def staff_episode(kind: str, rng: random.Random) -> list[tuple[int, int]]:
    """(offset ms, button) of one episode of a staff behaviour."""
    out: list[tuple[int, int]] = []
    t = 0.0
    if kind == "staff_fixed":
        pace, end = rng.uniform(15, 45) * 1000, rng.uniform(5, 15) * 60_000
        while t < end:
            out.append((int(t + rng.uniform(-1000, 1000)), 4))
            t += pace
    elif kind == "staff_jittered":
        end = rng.uniform(8, 20) * 60_000
        while t < end:
            out.append((int(t), 4))
            t += rng.uniform(10_000, 60_000)
    elif kind == "staff_bursts":
        end = rng.uniform(15, 25) * 60_000
        while t < end:
            for _ in range(rng.randint(3, 5)):
                out.append((int(t), 4))
                t += rng.uniform(6_000, 12_000)
            t += rng.uniform(60_000, 150_000)
    elif kind == "staff_several":
        end = rng.uniform(8, 15) * 60_000
        while t < end:
            out.append((int(t), rng.choice((3, 4))))
            t += rng.uniform(10_000, 40_000)
    else:
        raise ValueError(f"unknown staff behaviour {kind!r}")
    return sorted(out)


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


def make_day(
    seed: int, hours: float, rate: float, *, busy: bool = False, episodes: int = 8,
    behaviours: Sequence[str] = BEHAVIOURS,
) -> Day:  # fmt: skip
    """One labelled day: the simulator's city and ``episodes`` injected staff episodes."""
    with _terminal_rate(0.1 if busy else simulator.TERMINAL_MAX_RATE):
        sim = Simulation(PRESETS["demo"], START, timedelta(hours=hours), rate, seed)
        presses = list(sim.presses())
    rng = random.Random(f"{seed}:misuse")
    rows: list[tuple[int, bytes, str, str, int | None, str]] = []
    for p in presses:
        record = orjson.loads(p.line) if p.event_id is not None else None
        pressed = _ms(record["pressed_at"]) if record else None
        channel = record["channel"] if record else "?"
        rows.append((p.arrival_ms, p.line, p.label, p.device_id, pressed, channel))
    desks = [d for d in sim.city.devices if d.role == "desk"]
    for n in range(episodes):
        kind = behaviours[n % len(behaviours)]
        for _ in range(50):
            device = rng.choice(desks)
            start = rng.randrange(sim.start_ms, sim.end_ms - 30 * 60_000)
            if sim.city.is_open(device, start) and sim.city.is_open(device, start + 25 * 60_000):
                break
        else:
            continue
        for offset, button in staff_episode(kind, rng):
            ms = start + offset
            line = _line(rng, device.device_id, ms, button)
            rows.append((ms + 150, line, kind, device.device_id, ms, "terminal"))
    rows.sort(key=lambda r: r[0])
    return Day(
        catalogue=sim.catalogue(),
        lines=[r[1] for r in rows],
        labels=[r[2] for r in rows],
        devices=[r[3] for r in rows],
        pressed_ms=[r[4] for r in rows],
        channels=[r[5] for r in rows],
    )


def _ms(stamp: str) -> int:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def scanned_presses(day: Day) -> list[ScanPress]:
    judge = Judge(day.catalogue, RuleBook.defaults(), MemoryStore())
    return list(scanned(day.lines, judge, io.StringIO()))


def scan_day(day: Day) -> list[Suspect]:
    """The review's suspects of a day, through the judge as in production."""
    return scan(scanned_presses(day), hours={})


@dataclass
class Tally:
    """Presses per ground-truth label: all of them, and those inside a suspect period."""

    total: Counter[str]
    inside: Counter[str]

    def share(self, labels: Sequence[str]) -> float:
        total = sum(self.total[label] for label in labels)
        return sum(self.inside[label] for label in labels) / total if total else 0.0


def evaluate(day: Day, suspects: Sequence[Suspect]) -> Tally:
    """Count every honest and staff press of the day, and those inside a suspect period."""
    periods: dict[str, list[tuple[int, int]]] = {}
    for s in suspects:
        periods.setdefault(s.device_id, []).append((s.from_ms, s.to_ms))
    total: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    for label, device, ms, channel in zip(
        day.labels, day.devices, day.pressed_ms, day.channels, strict=True
    ):
        if ms is None or not (label == "honest" or label.startswith("staff")):
            continue
        key = f"{label}_{channel}" if label == "honest" else label
        total[key] += 1
        if any(a <= ms <= b for a, b in periods.get(device, ())):
            inside[key] += 1
    return Tally(total, inside)
