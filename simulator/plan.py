"""Injected dishonest patterns: planned as labelled episodes, expanded into raw presses.

An episode is planned up front (who, when, a sub-seed) and expanded only when the simulation
reaches it, from its own ``random.Random(sub_seed)``: planning stays cheap, expansion is
deterministic whatever the order of expansion, and long runs keep little in memory.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from civicpulse.simulator.city import MINUTE_MS, City, SimDevice, button_cdf
from civicpulse.simulator.staff import StaffStyle, draw_style, staff_presses

__all__ = [
    "DISHONEST",
    "LABELS",
    "Episode",
    "Label",
    "Plan",
    "Volumes",
    "plan_episodes",
    "sample_button",
]

Label = Literal[
    "honest",
    "child_burst",
    "staff_self_rating",
    "network_retry",
    "wrong_clock",
    "unknown_device",
    "visitor_repeat",
    "malformed",
]
LABELS: tuple[Label, ...] = (
    "honest",
    "child_burst",
    "staff_self_rating",
    "network_retry",
    "wrong_clock",
    "unknown_device",
    "visitor_repeat",
    "malformed",
)
DISHONEST: tuple[Label, ...] = LABELS[1:]
MALFORMED_KINDS = ("truncated_json", "button_out_of_range", "web_without_visitor", "bad_timestamp")
_HONEST_LOOKING = button_cdf(0.8)

# One press of an episode: (offset from the episode start in ms, label, button, visitor,
# malformed kind).
EpisodePress = tuple[int, Label, int, str | None, str | None]


def sample_button(rng: random.Random, cdf: tuple[float, float, float]) -> int:
    u = rng.random()
    return 1 if u < cdf[0] else 2 if u < cdf[1] else 3 if u < cdf[2] else 4


@dataclass(frozen=True)
class Volumes:
    """Expected honest presses of the run, by channel: the patterns are sized from them."""

    terminal: float
    web: float


@dataclass(frozen=True)
class Episode:
    """One injected pattern on one device (``presses`` regenerates its presses from ``seed``)."""

    label: Label
    device_id: str
    channel: Literal["terminal", "web"]
    start_ms: int
    end_ms: int
    seed: int
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def expands(self) -> bool:
        """Whether the episode has presses of its own (else it alters honest presses)."""
        return self.label in _EXPANDERS and (self.label != "wrong_clock" or self.channel == "web")

    def presses(self) -> list[EpisodePress]:
        return _EXPANDERS[self.label](random.Random(self.seed), self)


def _child(rng: random.Random, ep: Episode) -> list[EpisodePress]:
    # A child hammers 8-40 times, 0.3-1.5 s apart, loving one button; sometimes comes back.
    favourite = rng.randint(1, 4)
    out: list[EpisodePress] = []
    t = 0.0
    for burst in range(2 if rng.random() < 0.3 else 1):
        if burst:
            t += rng.uniform(5_000, 40_000)
        for _ in range(rng.randint(8, 40) if burst == 0 else rng.randint(5, 25)):
            button = favourite if rng.random() < 0.5 else rng.randint(1, 4)
            out.append((int(t), "child_burst", button, None, None))
            t += rng.uniform(300, 1_500)
    return out


def _staff(rng: random.Random, ep: Episode) -> list[EpisodePress]:
    # Staff lift their own desk's score, in a style drawn by the planner (simulator_staff).
    style = StaffStyle(**ep.detail["style"])
    return [(t, "staff_self_rating", b, None, None) for t, b in staff_presses(style, rng)]


def _unknown(rng: random.Random, ep: Episode) -> list[EpisodePress]:
    # An unregistered (or retired) terminal used by honest-looking citizens.
    out: list[EpisodePress] = []
    t = rng.expovariate(1 / 20_000)
    while t < ep.end_ms - ep.start_ms:
        out.append((int(t), "unknown_device", sample_button(rng, _HONEST_LOOKING), None, None))
        t += 6_000 + rng.expovariate(1 / 30_000)
    return out


def _visitor(rng: random.Random, ep: Episode) -> list[EpisodePress]:
    # One web visitor (one daily hash) presses again and again: the first press is honest.
    visitor = f"{rng.getrandbits(128):032x}"
    first = sample_button(rng, _HONEST_LOOKING)
    out: list[EpisodePress] = [(0, "honest", first, visitor, None)]
    t = 0.0
    for _ in range(rng.randint(1, 8)):
        t += rng.uniform(2_000, 90_000)
        button = first if rng.random() < 0.6 else rng.randint(1, 4)
        out.append((int(t), "visitor_repeat", button, visitor, None))
    return out


def _browser_clock(rng: random.Random, ep: Episode) -> list[EpisodePress]:
    visitor = f"{rng.getrandbits(128):032x}"
    out: list[EpisodePress] = []
    t = 0.0
    for _ in range(rng.randint(1, 3)):
        out.append((int(t), "wrong_clock", sample_button(rng, _HONEST_LOOKING), visitor, None))
        t += rng.uniform(60_000, 600_000)  # one visitor answers on several pages
    return out


def _malformed(rng: random.Random, ep: Episode) -> list[EpisodePress]:
    visitor = f"{rng.getrandbits(128):032x}" if ep.channel == "web" else None
    return [(0, "malformed", rng.randint(1, 4), visitor, str(ep.detail["kind"]))]


_EXPANDERS: dict[str, Callable[[random.Random, Episode], list[EpisodePress]]] = {
    "child_burst": _child,
    "staff_self_rating": _staff,
    "unknown_device": _unknown,
    "visitor_repeat": _visitor,
    "malformed": _malformed,
    "wrong_clock": _browser_clock,
}


@dataclass
class Plan:
    """Every episode of a run, plus the windows that alter honest presses of a device."""

    episodes: list[Episode]
    #: device_id -> [(from_ms, to_ms, offset_ms)]: the device's clock is wrong by offset_ms
    clock: dict[str, list[tuple[int, int, int]]]
    #: device_id -> [(from_ms, to_ms)]: offline; buffered presses arrive at to_ms
    outages: dict[str, list[tuple[int, int]]]


class _Planner:
    def __init__(self, city: City, rng: random.Random) -> None:
        self.city, self.rng = city, rng
        self.lo, self.hi = city.start_ms, city.end_ms
        self.desks = [d for d in city.devices if d.role == "desk"]
        self.web = [d for d in city.devices if d.role == "web"]
        self.episodes: list[Episode] = []

    def open_desk(self, need_ms: int, *, busy: bool = True) -> tuple[SimDevice, int] | None:
        """A desk open for ``need_ms`` from a random time (popular desks more likely unless
        ``busy`` is false)."""
        rng, city = self.rng, self.city
        latest = max(self.lo + 1, self.hi - need_ms)
        for _ in range(40):
            t = rng.randrange(self.lo, latest)
            end = t + max(need_ms - 1, 0)
            open_now = [d for d in self.desks if city.is_open(d, t) and city.is_open(d, end)]
            if open_now:
                weights = [d.popularity if busy else 1.0 for d in open_now]
                return rng.choices(open_now, weights)[0], t
        return None

    def add(
        self, label: Label, device: SimDevice | str, start: int, length: int, **detail: Any
    ) -> None:
        device_id = device if isinstance(device, str) else device.device_id
        channel = "terminal" if isinstance(device, str) else device.channel
        episode = Episode(
            label, device_id, channel, start, start + length, self.rng.getrandbits(64), detail
        )
        if episode.expands and length == 0:  # open-ended: the expansion says when it ends
            last = max(p[0] for p in episode.presses())
            episode = Episode(label, device_id, channel, start, start + last, episode.seed, detail)
        self.episodes.append(episode)


def plan_episodes(city: City, volumes: Volumes, rng: random.Random) -> Plan:
    """Plan the dishonest patterns of a run, sized from its expected honest volumes."""
    p = _Planner(city, rng)
    span = city.end_ms - city.start_ms
    total = volumes.terminal + volumes.web
    for _ in range(max(1, round(volumes.terminal * 0.02 / 24))):
        if (found := p.open_desk(60_000)) is not None:
            p.add("child_burst", found[0], found[1], 0)
    for _ in range(max(1, round(volumes.terminal * 0.02 / 22))):
        # one draw from the plan's stream, the style from its own: a parameter added to the
        # styles does not reshuffle every other pattern of the plan
        style = draw_style(random.Random(rng.getrandbits(64)))
        if found := p.open_desk(min(span, style.nominal_ms()), busy=style.busy_desk):
            p.add("staff_self_rating", found[0], found[1], 0, style=style.detail())
    for i in range(max(2, round(total * 0.004 / 40))):
        length = min(span, int(rng.uniform(10, 30) * MINUTE_MS))
        start = rng.randrange(city.start_ms, max(city.start_ms + 1, city.end_ms - length))
        if i == 0:
            device_id = city.retired_device  # retired before the run, still plugged in
        elif i % 2:
            device_id = f"{rng.choice(city.sites).site_id}-desk-{9 + i}"  # typo at setup
        else:
            device_id = f"kiosk-{rng.getrandbits(24):06x}"  # never registered
        p.add("unknown_device", device_id, start, length)
    for _ in range(max(1, round(volumes.web * 0.01 / 5.5))):
        web = rng.choices(p.web, [d.popularity for d in p.web])[0]
        p.add("visitor_repeat", web, rng.randrange(city.start_ms, city.end_ms), 0)
    for i in range(max(4, round(total * 0.0005))):
        kind = MALFORMED_KINDS[i % len(MALFORMED_KINDS)]
        pool = p.web if kind == "web_without_visitor" else list(city.devices)
        device = rng.choice(pool)
        p.add("malformed", device, rng.randrange(city.start_ms, city.end_ms), 0, kind=kind)
    clock: dict[str, list[tuple[int, int, int]]] = {}
    for i in range(max(1, round(volumes.terminal * 0.004 / 100))):
        # A terminal whose clock is wrong for a while: its honest presses carry that clock.
        length = min(span, int(rng.uniform(10, 30) * MINUTE_MS))
        if (found := p.open_desk(length)) is None:
            continue
        device, start = found
        hours = rng.uniform(2, 50) if i % 2 == 0 else -rng.uniform(8, 40) * 24
        offset = int(hours * 3_600_000)
        p.add("wrong_clock", device, start, length, offset_ms=offset)
        clock.setdefault(device.device_id, []).append((start, start + length, offset))
    for i in range(max(1, round(volumes.web * 0.002 / 2))):
        # A visitor's computer with a wrong clock (the widget stamps pressed_at in the browser).
        web = rng.choices(p.web, [d.popularity for d in p.web])[0]
        minutes = rng.uniform(10, 180) if i % 2 == 0 else -rng.uniform(26, 96) * 60
        p.add("wrong_clock", web, rng.randrange(city.start_ms, city.end_ms), 0,
              offset_ms=int(minutes * MINUTE_MS))  # fmt: skip
    outages: dict[str, list[tuple[int, int]]] = {}
    if span >= 30 * MINUTE_MS:
        for _ in range(max(1, round(span / 3_600_000 * len(p.desks) / 30))):
            length = int(rng.uniform(8, 15) * MINUTE_MS)
            if (found := p.open_desk(length)) is not None:
                device, start = found
                outages.setdefault(device.device_id, []).append((start, start + length))
    p.episodes.sort(key=lambda e: (e.start_ms, e.device_id, e.seed))
    return Plan(p.episodes, clock, outages)
