"""Load simulator: a seeded city's presses, with injected and labelled dishonest patterns.

``generate(city, start, duration, rate, seed)`` yields :class:`SimulatedPress` records (the raw
``presses.raw`` line, its Kafka key, its ground-truth label) in arrival order (``received_at``,
which is the order a device's partition sees them). Same arguments, same bytes. No Kafka here:
the ``simulate`` command (``simulate.py``) writes or produces what this yields.

How the time is spent: event time advances in one-minute chunks. In each chunk every device's
honest presses are drawn from its rate (the city's shape - opening hours, hour of day, desk
popularity - scaled so the run's mean rate is ``rate``), the planned episodes due in the chunk
are expanded, everything is sorted by true press time, stamped (device clock, ingest delay,
offline flush), encoded once with orjson and parked in a heap keyed by arrival time; whatever
arrives before the chunk's end leaves the heap. A terminal serves one citizen at a time, so its
honest presses are at least ``MIN_GAP_MS`` apart and at most ``TERMINAL_MAX_RATE`` per second:
the rate the terminals cannot carry goes to the web widgets (say so when the city is small).
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import count
from typing import Any, NamedTuple

import orjson

from civicpulse.producers.exceptions import SimulationError
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.simulator.city import MINUTE_MS, City, CityPreset, build_city, button_cdf
from civicpulse.simulator.plan import Label, Plan, Volumes, plan_episodes, sample_button

__all__ = [
    "MIN_GAP_MS",
    "TERMINAL_MAX_RATE",
    "SimulatedPress",
    "Simulation",
    "format_ms",
    "generate",
]

MIN_GAP_MS = 6_000
TERMINAL_MAX_RATE = 1 / 30
#: share of the rate left to the injected patterns (so the whole run's rate is about ``rate``)
PATTERN_SHARE = 0.03
RETRY_PROBABILITY = 0.01
REASONS = ("wait_time", "unclear_info", "staff_attitude", "website_error", "other")
_CHUNK_MS = MINUTE_MS


class SimulatedPress(NamedTuple):
    """One line of ``presses.raw`` with its Kafka key and its ground-truth label.

    A NamedTuple rather than a frozen dataclass: it is built once per press, and a frozen
    dataclass's ``__init__`` costs more than encoding the press itself.
    """

    line: bytes
    key: bytes
    label: Label
    event_id: str | None
    device_id: str
    arrival_ms: int


_prefix_cache: dict[int, str] = {}


def format_ms(ms: int) -> str:
    """Epoch ms -> UTC ISO-8601 with ms and ``Z`` (the contract's wire form), cached per second."""
    second, milli = divmod(ms, 1000)
    prefix = _prefix_cache.get(second)
    if prefix is None:
        if len(_prefix_cache) > 100_000:
            _prefix_cache.clear()
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _prefix_cache[second] = prefix
    return f"{prefix}.{milli:03d}Z"


def _uuid4(rng: random.Random) -> str:
    value = rng.getrandbits(128)
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# (true press ms, creation order, device_id, channel, label, button, visitor, malformed kind,
# device clock offset ms)
_Raw = tuple[int, int, str, str, Label, int, str | None, str | None, int]


class Simulation:
    """One simulated run: the city, its plan, and its presses (iterate :meth:`presses` once)."""

    def __init__(
        self,
        preset: CityPreset,
        start: datetime,
        duration: timedelta,
        rate: float,
        seed: int,
        *,
        degrade_after: timedelta | None = None,
        degraded: str | None = None,
        clock_shift: timedelta = timedelta(0),
        surge: float = 0.0,
    ) -> None:
        """``surge``: presses per second the degraded department's web widgets draw on top of
        ``rate`` once it degrades (an unhappy crowd; 0 = none); ``degraded`` and
        ``clock_shift``: see :func:`~civicpulse.simulator.city.build_city`."""
        if start.tzinfo is None:
            raise SimulationError("start must carry a time zone, e.g. 2026-11-23T07:00:00Z")
        if duration <= timedelta(0) or rate <= 0:
            raise SimulationError(
                "duration and rate must be positive, e.g. --duration 10m --rate 200/s"
            )
        self.rate, self.seed, self.surge = rate, seed, surge
        self.city: City = build_city(
            preset, start, duration, seed,
            degrade_after=degrade_after, degraded=degraded, clock_shift=clock_shift,
        )  # fmt: skip
        self._k, self.volumes = self._calibrate(rate * (1 - PATTERN_SHARE))
        self.plan: Plan = plan_episodes(self.city, self.volumes, random.Random(f"{seed}:plan"))
        self.counts: Counter[str] = Counter()

    @property
    def start_ms(self) -> int:
        return self.city.start_ms

    @property
    def end_ms(self) -> int:
        return self.city.end_ms

    def catalogue(self) -> Catalogue:
        return self.city.catalogue()

    def rates_at(self, ms: int, k: float | None = None) -> list[float]:
        """Honest presses per second of every device at ``ms`` (terminal overflow -> web)."""
        city, k = self.city, self._k if k is None else k
        weights = city.weights(ms)
        rates, overflow, web_weight = [], 0.0, 0.0
        for device, weight in zip(city.devices, weights, strict=True):
            rate = k * weight
            if device.role == "web":
                web_weight += weight
            elif rate > TERMINAL_MAX_RATE:
                overflow, rate = overflow + rate - TERMINAL_MAX_RATE, TERMINAL_MAX_RATE
            rates.append(rate)
        if overflow and web_weight:
            for device, weight in zip(city.devices, weights, strict=True):
                if device.role == "web":
                    rates[device.index] += overflow * weight / web_weight
        if self.surge and ms >= city.degrade_at_ms:
            crowd = [
                d
                for d in city.devices
                if d.role == "web" and d.department_id == city.degraded_department
            ]
            for device in crowd:
                rates[device.index] += self.surge / len(crowd)
        return rates

    def _calibrate(self, honest_rate: float) -> tuple[float, Volumes]:
        """Scale the city's shape so the run's mean honest rate is ``honest_rate``."""
        span = self.end_ms - self.start_ms
        step = max(MINUTE_MS, (span // 1500) // MINUTE_MS * MINUTE_MS)
        samples = [self.start_ms + step * i for i in range(max(1, -(-span // step)))]
        mean_weight = sum(sum(self.city.weights(ms)) for ms in samples) / len(samples)
        if mean_weight <= 0:
            raise SimulationError("no device of this city is active during the run")
        k = honest_rate / mean_weight
        terminal_rate = sum(
            sum(
                r
                for d, r in zip(self.city.devices, self.rates_at(ms, k), strict=True)
                if d.role != "web"
            )
            for ms in samples
        ) / len(samples)
        seconds = span / 1000
        return k, Volumes(terminal_rate * seconds, (honest_rate - terminal_rate) * seconds)

    def scenario(self) -> dict[str, Any]:
        """The run's ground truth besides the per-event labels (complete after the run)."""
        city = self.city
        return {
            "city": city.preset.name,
            "seed": self.seed,
            "timezone": city.preset.timezone,
            "start": format_ms(self.start_ms),
            "end": format_ms(self.end_ms),
            "rate_per_s": self.rate,
            "clock_shift_s": city.clock_shift_ms / 1000,
            "expected_honest_per_s": {
                "terminal": round(
                    self.volumes.terminal / ((self.end_ms - self.start_ms) / 1000), 3
                ),
                "web": round(self.volumes.web / ((self.end_ms - self.start_ms) / 1000), 3),
            },
            "degradations": [
                {
                    "department_id": city.degraded_department,
                    "from": format_ms(city.degrade_at_ms),
                    "mood_drop": 2.4,
                    "surge_per_s": self.surge,
                }
            ],
            "question_changes": [
                {
                    "department_id": city.changed_department,
                    "question_id": "q-waiting",
                    "valid_from": format_ms(city.question_change_ms),
                }
            ],
            "episodes": [
                {
                    "label": e.label,
                    "device_id": e.device_id,
                    "from": format_ms(e.start_ms),
                    "to": format_ms(e.end_ms),
                    **e.detail,
                }
                for e in self.plan.episodes
            ],
            "outages": [
                {"device_id": device_id, "from": format_ms(a), "to": format_ms(b)}
                for device_id, windows in self.plan.outages.items()
                for a, b in windows
            ],
            "counts": dict(sorted(self.counts.items())),
        }

    def presses(self) -> Iterator[SimulatedPress]:
        """Every press of the run, in arrival order."""
        return _Run(self).run()


class _Run:
    """The mutable state of one pass over the run (kept apart so Simulation stays reusable)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim, self.city = sim, sim.city
        self.rng = random.Random(f"{sim.seed}:presses")
        self.seq = count()
        self.heap: list[tuple[int, int, SimulatedPress]] = []
        self.next_press: dict[int, float] = {}
        self.last_arrival: dict[str, int] = {}
        self.pending: list[_Raw] = []  # expanded episode presses not yet due, by true time
        self.episodes = iter(sim.plan.episodes)
        self.next_episode = next(self.episodes, None)
        self.cdfs: dict[int, tuple[float, float, float]] = {}
        self.cdf_key: tuple[int, bool] | None = None

    def run(self) -> Iterator[SimulatedPress]:
        sim, heap, counts = self.sim, self.heap, self.sim.counts
        first = sim.start_ms - sim.start_ms % _CHUNK_MS
        for chunk in range(first, sim.end_ms, _CHUNK_MS):
            lo, hi = max(chunk, sim.start_ms), min(chunk + _CHUNK_MS, sim.end_ms)
            raws = self._honest(chunk, lo, hi) + self._episodes_due(hi)
            raws.sort()
            for raw in raws:
                self._emit(raw)
            while heap and heap[0][0] < hi:
                press = heapq.heappop(heap)[2]
                counts[press.label] += 1
                yield press
        while heap:
            press = heapq.heappop(heap)[2]
            counts[press.label] += 1
            yield press

    def _cdf(self, index: int, chunk: int) -> tuple[float, float, float]:
        key = (chunk // 3_600_000, chunk >= self.city.degrade_at_ms)
        if key != self.cdf_key:
            self.cdfs.clear()
            self.cdf_key = key
        cdf = self.cdfs.get(index)
        if cdf is None:
            cdf = self.cdfs[index] = button_cdf(self.city.mood(self.city.devices[index], chunk))
        return cdf

    def _honest(self, chunk: int, lo: int, hi: int) -> list[_Raw]:
        rng, expo, seq, out = self.rng, self.rng.expovariate, self.seq, []
        # Rates and moods hold for the chunk from its first moment in the run (``lo``: a run
        # that starts mid-minute, degraded from its start, is degraded from its first press).
        for device, rate in zip(self.city.devices, self.sim.rates_at(lo), strict=True):
            index = device.index
            if rate <= 0:
                self.next_press.pop(index, None)
                continue
            mean_gap = 1000 / rate
            t = self.next_press.get(index)
            if t is None:
                t = lo + expo(1 / mean_gap)
            if t >= hi:
                self.next_press[index] = t
                continue
            cdf = self._cdf(index, lo)
            device_id, channel = device.device_id, device.channel
            web = device.role == "web"
            # A terminal serves one citizen at a time: gaps are MIN_GAP_MS + exponential.
            extra = 1 / mean_gap if web else 1 / max(mean_gap - MIN_GAP_MS, 1_000)
            floor = 0 if web else MIN_GAP_MS
            while t < hi:
                visitor = f"{rng.getrandbits(128):032x}" if web else None
                button = sample_button(rng, cdf)
                raw: _Raw = (
                    int(t),
                    next(seq),
                    device_id,
                    channel,
                    "honest",
                    button,
                    visitor,
                    None,
                    0,
                )
                out.append(raw)
                t += floor + expo(extra)
            self.next_press[index] = t
        return out

    def _episodes_due(self, hi: int) -> list[_Raw]:
        pending, seq = self.pending, self.seq
        while self.next_episode is not None and self.next_episode.start_ms < hi:
            episode = self.next_episode
            if episode.expands:
                offset_ms = int(episode.detail.get("offset_ms", 0))
                for offset, label, button, visitor, kind in episode.presses():
                    raw: _Raw = (
                        episode.start_ms + offset, next(seq), episode.device_id, episode.channel,
                        label, button, visitor, kind, offset_ms,
                    )  # fmt: skip
                    heapq.heappush(pending, raw)
            self.next_episode = next(self.episodes, None)
        due: list[_Raw] = []
        while pending and pending[0][0] < hi:
            due.append(heapq.heappop(pending))
        return due

    def _emit(self, raw: _Raw) -> None:
        true_ms, _, device_id, channel, label, button, visitor, kind, offset_ms = raw
        rng, plan = self.rng, self.sim.plan
        pressed = true_ms + offset_ms
        if label == "honest" and device_id in plan.clock:
            for a, b, offset in plan.clock[device_id]:
                if a <= true_ms < b:
                    pressed, label = true_ms + offset, "wrong_clock"
        if channel == "web":
            arrival = true_ms + min(int(rng.lognormvariate(5.5, 0.7)), 5_000)
        else:
            arrival = true_ms + 20 + min(int(rng.lognormvariate(4.4, 0.6)), 5_000)
            for a, b in plan.outages.get(device_id, ()):
                if a <= true_ms < b:  # offline: buffered, flushed when the link returns
                    arrival = b
            # One terminal sends in order over one link: arrivals never overtake each other.
            last = self.last_arrival.get(device_id)
            if last is not None and arrival <= last:
                arrival = last + rng.randint(2, 15)
            self.last_arrival[device_id] = arrival
        event_id = _uuid4(rng)
        record: dict[str, Any] = {
            "event_id": event_id,
            "channel": channel,
            "device_id": device_id,
            "button": button,
            "pressed_at": format_ms(pressed),
            "received_at": format_ms(arrival),
        }
        if visitor is not None:
            record["visitor"] = visitor
            if button <= 2 and rng.random() < 0.4:
                record["reason"] = REASONS[rng.randrange(len(REASONS))]
            record["lang"] = "pl" if rng.random() < 0.85 else "en"
        key = device_id.encode()
        if kind is not None:
            self._push(arrival, _malformed(record, kind), key, label, None, device_id)
            return
        self._push(arrival, orjson.dumps(record), key, label, event_id, device_id)
        if label == "honest" and rng.random() < RETRY_PROBABILITY:
            # The ack was lost: the same event is sent again, seconds (sometimes minutes) later.
            delay = rng.uniform(200, 3_000) if rng.random() < 0.7 else rng.uniform(3_000, 90_000)
            again = arrival + int(delay)
            record["received_at"] = format_ms(again)
            self._push(again, orjson.dumps(record), key, "network_retry", event_id, device_id)

    def _push(self, arrival: int, line: bytes, key: bytes, label: Label, event_id: str | None,
              device_id: str) -> None:  # fmt: skip
        press = SimulatedPress(line, key, label, event_id, device_id, arrival)
        heapq.heappush(self.heap, (arrival, next(self.seq), press))


def _malformed(record: dict[str, Any], kind: str) -> bytes:
    if kind == "truncated_json":
        line = orjson.dumps(record)
        return line[: len(line) * 2 // 3]
    if kind == "button_out_of_range":
        record["button"] = 7
    elif kind == "web_without_visitor":
        record.pop("visitor", None)
        record["channel"] = "web"
    else:
        record["pressed_at"] = "23.11.2026 08:15"
    return orjson.dumps(record)


def generate(
    city: CityPreset, start: datetime, duration: timedelta, rate: float, seed: int
) -> Iterator[SimulatedPress]:
    """The presses of a simulated run, in arrival order (see :class:`Simulation`)."""
    return Simulation(city, start, duration, rate, seed).presses()
