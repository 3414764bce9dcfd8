"""The simulated city: departments, sites, devices, opening hours, moods, one degradation.

Everything is drawn from a ``random.Random`` seeded with the simulation's seed, so a preset,
a seed, a start and a duration always build the same city (and the same catalogue). Nothing
here does I/O; :mod:`civicpulse.simulator.generate` turns the city into presses.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from civicpulse.schemas.catalogue import (
    Catalogue,
    Department,
    Device,
    Question,
    QuestionSchedule,
    QuestionText,
    Site,
)
from civicpulse.schemas.events import Channel

__all__ = [
    "HOURS",
    "PRESETS",
    "City",
    "CityPreset",
    "OpeningHours",
    "SimDevice",
    "build_city",
    "button_cdf",
    "to_ms",
]

Role = Literal["desk", "staff", "web"]
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
# How much a degraded department's mood falls: from "mostly happy" (score ~80) to "mostly
# unhappy" (score ~20), a drop any sensible alert rule must see within minutes.
MOOD_DROP = 2.4
_BUTTON_SLOPES = (-1.5, -0.5, 0.5, 1.5)


@dataclass(frozen=True)
class CityPreset:
    """The size of a simulated city; the details are drawn from the seed."""

    name: str
    departments: int
    sites: int
    desks_per_site: tuple[int, int]
    staff_terminals: int
    web_widgets: int
    web_popularity: float
    timezone: str = "Europe/Warsaw"


PRESETS: dict[str, CityPreset] = {
    # 30 desks + 3 staff-room terminals + one web widget per department (37 devices).
    "demo": CityPreset("demo", 4, 10, (3, 3), 3, 4, web_popularity=3.0),
    # Benchmarks: 480 desks + 24 staff terminals + 96 widgets = 600 devices.
    "large": CityPreset("large", 12, 120, (4, 4), 24, 96, web_popularity=1.5),
}


@dataclass(frozen=True)
class OpeningHours:
    """Local opening hours: per weekday (Mon..Sun) ``(open_minute, close_minute)`` or closed."""

    name: str
    days: tuple[tuple[int, int] | None, ...]

    def is_open(self, weekday: int, minute: int) -> bool:
        span = self.days[weekday]
        return span is not None and span[0] <= minute < span[1]

    def closing(self, weekday: int) -> int | None:
        span = self.days[weekday]
        return span[1] if span else None


_WEEKDAYS_ONLY: tuple[None, None] = (None, None)
HOURS: dict[str, OpeningHours] = {
    # Warsaw's city offices: long Monday, 8-16 the other weekdays.
    "office": OpeningHours("office", ((480, 1080),) + ((480, 960),) * 4 + _WEEKDAYS_ONLY),
    "early": OpeningHours("early", ((450, 930),) * 5 + _WEEKDAYS_ONLY),
    "extended": OpeningHours("extended", ((480, 1080),) * 5 + ((540, 780), None)),
}

# (id, Polish name, opening hours)
_DEPARTMENTS = (
    ("civil-registry", "Urząd Stanu Cywilnego", "office"),
    ("transport", "Wydział Komunikacji", "extended"),
    ("taxes", "Wydział Podatków i Opłat Lokalnych", "office"),
    ("social", "Ośrodek Pomocy Społecznej", "early"),
    ("architecture", "Wydział Architektury i Budownictwa", "office"),
    ("environment", "Wydział Ochrony Środowiska", "office"),
    ("housing", "Zarząd Lokali Miejskich", "early"),
    ("education", "Biuro Edukacji", "office"),
    ("culture", "Biuro Kultury", "office"),
    ("sport", "Biuro Sportu i Rekreacji", "extended"),
    ("health", "Biuro Polityki Zdrowotnej", "early"),
    ("residents", "Biuro Obsługi Mieszkańców", "extended"),
)
_DISTRICTS = (
    ("srodmiescie", "Śródmieście"), ("mokotow", "Mokotów"), ("wola", "Wola"),
    ("praga-poludnie", "Praga-Południe"), ("ursynow", "Ursynów"), ("bielany", "Bielany"),
    ("bemowo", "Bemowo"), ("targowek", "Targówek"), ("ochota", "Ochota"),
    ("zoliborz", "Żoliborz"), ("wawer", "Wawer"), ("bialoleka", "Białołęka"),
    ("praga-polnoc", "Praga-Północ"), ("ursus", "Ursus"), ("wlochy", "Włochy"),
    ("wilanow", "Wilanów"), ("rembertow", "Rembertów"), ("wesola", "Wesoła"),
)  # fmt: skip
QUESTIONS = (
    Question(
        question_id="q-service",
        text=QuestionText(pl="Jak oceniasz dzisiejszą obsługę?", en="How was our service today?"),
        kind="citizen",
    ),
    Question(
        question_id="q-waiting",
        text=QuestionText(pl="Jak oceniasz czas oczekiwania?", en="How was the waiting time?"),
        kind="citizen",
    ),
    Question(
        question_id="q-web",
        text=QuestionText(pl="Czy ta strona była pomocna?", en="Was this page helpful?"),
        kind="citizen",
    ),
    Question(
        question_id="q-staff-day",
        text=QuestionText(pl="Jak minął Ci dzień?", en="How was your day?"),
        kind="employee",
    ),
)
# Relative desk traffic by local hour, web traffic by local hour, mood shift by local hour
# (queues build up late in the day, people are in a better mood in the morning).
DESK_CURVE = (0.0,) * 7 + (0.5, 0.7, 1.0, 1.0, 1.0, 0.8, 0.8, 0.9, 0.8, 0.6, 0.5) + (0.0,) * 6
WEB_CURVE = (
    0.15, 0.10, 0.08, 0.08, 0.10, 0.20, 0.40, 0.70, 0.90, 1.00, 1.00, 1.00,
    1.00, 0.95, 0.90, 0.85, 0.80, 0.80, 0.85, 0.90, 0.85, 0.70, 0.45, 0.25,
)  # fmt: skip
HOUR_MOOD = (0.0,) * 7 + (0.3, 0.25, 0.15, 0.1, 0.0, -0.1, -0.1, -0.15, -0.25, -0.35) + (-0.2,) * 7


def to_ms(moment: datetime) -> int:
    """Integer milliseconds since the epoch (exact)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


def _midnight(ms: int) -> datetime:
    return from_ms(ms).replace(hour=0, minute=0, second=0, microsecond=0)


def button_cdf(mood: float) -> tuple[float, float, float]:
    """Cumulative probabilities of buttons 1..3 for a mood (positive = happy; 0 = uniform)."""
    weights = [math.exp(mood * slope) for slope in _BUTTON_SLOPES]
    total = sum(weights)
    c1 = weights[0] / total
    c2 = c1 + weights[1] / total
    return c1, c2, c2 + weights[2] / total


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One catalogue device as the simulator drives it."""

    index: int
    device_id: str
    channel: Channel
    role: Role
    site_id: str
    department_id: str
    popularity: float
    quality: float


@dataclass(frozen=True)
class City:
    """A built city: catalogue entities plus what drives its presses (hours, moods, scenario)."""

    preset: CityPreset
    seed: int
    zone: ZoneInfo
    start_ms: int
    end_ms: int
    departments: tuple[Department, ...]
    sites: tuple[Site, ...]
    site_hours: dict[str, OpeningHours]
    devices: tuple[SimDevice, ...]
    retired_device: str
    active_from: datetime
    degraded_department: str
    degrade_at_ms: int
    changed_department: str
    question_change_ms: int
    #: the city lives this far ahead of the wall clock (hours, moods); ``pressed_at`` does not
    clock_shift_ms: int = 0

    def local(self, ms: int) -> tuple[int, int]:
        """(weekday Mon=0, minute of the local day) in the city's time zone (DST-correct),
        on the city's own clock (``clock_shift_ms`` ahead of ``ms``)."""
        moment = datetime.fromtimestamp((ms + self.clock_shift_ms) / 1000, self.zone)
        return moment.weekday(), moment.hour * 60 + moment.minute

    def is_open(self, device: SimDevice, ms: int) -> bool:
        """Web widgets are always on; terminals only while their site is open."""
        if device.role == "web":
            return True
        return self.site_hours[device.site_id].is_open(*self.local(ms))

    def weights(self, ms: int) -> list[float]:
        """Relative press intensity of every device at ``ms`` (0 = closed)."""
        weekday, minute = self.local(ms)
        hour = minute // 60
        result: list[float] = []
        for device in self.devices:
            if device.role == "web":
                result.append(device.popularity * WEB_CURVE[hour])
                continue
            hours = self.site_hours[device.site_id]
            if not hours.is_open(weekday, minute):
                result.append(0.0)
            elif device.role == "desk":
                result.append(device.popularity * DESK_CURVE[hour])
            else:  # staff answer "How was your day?" mostly on their way out
                closing = hours.closing(weekday) or 0
                result.append(device.popularity * (3.0 if closing - minute <= 60 else 0.3))
        return result

    def mood(self, device: SimDevice, ms: int) -> float:
        """Mood of one device's users at ``ms``: desk quality, hour, an hourly wobble, scenario."""
        hour_index = ms // HOUR_MS
        wobble = random.Random(f"{self.seed}:{device.index}:{hour_index}").uniform(-0.3, 0.3)
        _, minute = self.local(ms)
        mood = device.quality + HOUR_MOOD[minute // 60] + wobble
        degraded = device.department_id == self.degraded_department and device.role != "staff"
        if degraded and ms >= self.degrade_at_ms:
            mood -= MOOD_DROP
        return mood

    def question_schedule(self, device: SimDevice) -> tuple[QuestionSchedule, ...]:
        first = {"desk": "q-service", "staff": "q-staff-day", "web": "q-web"}[device.role]
        schedule = [QuestionSchedule(question_id=first, valid_from=self.active_from)]
        if device.role == "desk" and device.department_id == self.changed_department:
            schedule.append(
                QuestionSchedule(
                    question_id="q-waiting", valid_from=from_ms(self.question_change_ms)
                )
            )
        return tuple(schedule)

    def catalogue(self) -> Catalogue:
        """The contract catalogue of this city (plus one device retired before the start)."""
        devices = [
            Device(
                device_id=d.device_id,
                channel=d.channel,
                site_id=d.site_id,
                department_id=d.department_id,
                questions=self.question_schedule(d),
                active_from=self.active_from,
            )
            for d in self.devices
        ]
        first = self.sites[0]
        devices.append(
            Device(
                device_id=self.retired_device,
                channel="terminal",
                site_id=first.site_id,
                department_id=first.department_id,
                questions=(QuestionSchedule(question_id="q-service", valid_from=self.active_from),),
                active_from=self.active_from,
                retired_at=_midnight(self.start_ms) - timedelta(days=30),
            )
        )
        return Catalogue(
            devices=tuple(devices),
            sites=self.sites,
            departments=self.departments,
            questions=QUESTIONS,
        )


def _first_open_minute(
    city_sites: list[str],
    hours: dict[str, OpeningHours],
    zone: ZoneInfo,
    lo: int,
    hi: int,
    shift: int,
) -> int | None:
    for ms in range(lo - lo % MINUTE_MS, hi, MINUTE_MS):
        moment = datetime.fromtimestamp((ms + shift) / 1000, zone)
        if any(
            hours[s].is_open(moment.weekday(), moment.hour * 60 + moment.minute) for s in city_sites
        ):
            return max(ms, lo)
    return None


def build_city(
    preset: CityPreset,
    start: datetime,
    duration: timedelta,
    seed: int,
    *,
    degrade_after: timedelta | None = None,
    degraded: str | None = None,
    clock_shift: timedelta = timedelta(0),
) -> City:
    """The city of ``preset`` for a run of ``duration`` from ``start`` (all drawn from ``seed``).

    The degraded department is drawn from the seed unless ``degraded`` names one; its service
    degrades ``degrade_after`` into the run when given (a live demo must show an alert within
    minutes of an open-ended run), else while its desks are open between 40 % and 70 % of the
    run. ``clock_shift`` moves the city's day (opening hours, traffic, moods) against the wall
    clock, so a demo started at night can show a city in its busy hours.
    """
    # One generator, drawn in a fixed order (devices, then the degraded department): the same
    # seed gives the same city.
    rng = random.Random(f"{seed}:city:{preset.name}")
    start_ms = to_ms(start)
    end_ms = start_ms + int(duration.total_seconds() * 1000)
    zone = ZoneInfo(preset.timezone)
    chosen = _DEPARTMENTS[: preset.departments]
    departments = tuple(Department(department_id=d, name=name) for d, name, _ in chosen)
    sites, site_hours, by_department = _lay_out_sites(preset, chosen)
    devices = _draw_devices(preset, rng, sites, by_department)
    dep_ids = [d.department_id for d in departments]
    drawn = rng.choice(dep_ids)  # drawn even when overridden: the rest stays seed-identical
    if degraded is not None and degraded not in dep_ids:
        raise ValueError(f"no department {degraded!r} in the {preset.name} city: {dep_ids}")
    degraded = degraded or drawn
    shift = int(clock_shift.total_seconds() * 1000)
    span = end_ms - start_ms
    if degrade_after is not None:
        degrade_at = start_ms + int(degrade_after.total_seconds() * 1000)
    else:
        # Degrade while the department's desks are open if the run allows it (alerts need
        # presses), else half-way.
        open_at = _first_open_minute(
            by_department[degraded],
            site_hours,
            zone,
            start_ms + span * 2 // 5,
            start_ms + span * 7 // 10,
            shift,
        )
        degrade_at = start_ms + span // 2 if open_at is None else open_at
    change = start_ms + max(MINUTE_MS, span // 3)
    return City(
        preset=preset,
        seed=seed,
        zone=zone,
        start_ms=start_ms,
        end_ms=end_ms,
        departments=departments,
        sites=tuple(sites),
        site_hours=site_hours,
        devices=devices,
        retired_device=f"{sites[0].site_id}-desk-old",
        # Far enough back that a clock running weeks late still finds the device in the catalogue.
        active_from=_midnight(start_ms) - timedelta(days=400),
        degraded_department=degraded,
        degrade_at_ms=degrade_at,
        changed_department=dep_ids[(dep_ids.index(degraded) + 1) % len(dep_ids)],
        question_change_ms=change - change % MINUTE_MS,
        clock_shift_ms=shift,
    )


def _lay_out_sites(
    preset: CityPreset, chosen: Sequence[tuple[str, str, str]]
) -> tuple[list[Site], dict[str, OpeningHours], dict[str, list[str]]]:
    """The preset's sites dealt round the departments, with their opening hours.

    Returns the sites, each site's hours, and each department's site ids in order.
    """
    sites: list[Site] = []
    site_hours: dict[str, OpeningHours] = {}
    by_department: dict[str, list[str]] = {d: [] for d, _, _ in chosen}
    for i in range(preset.sites):
        dep_index = i % len(chosen)
        dep_id, dep_name, hours = chosen[dep_index]
        k = len(by_department[dep_id])
        slug, district = _DISTRICTS[(dep_index * 5 + k) % len(_DISTRICTS)]
        site_id = f"{dep_id}-{slug}"
        sites.append(Site(site_id=site_id, department_id=dep_id, name=f"{dep_name} – {district}"))
        site_hours[site_id] = HOURS[hours]
        by_department[dep_id].append(site_id)
    return sites, site_hours, by_department


def _draw_devices(
    preset: CityPreset,
    rng: random.Random,
    sites: list[Site],
    by_department: dict[str, list[str]],
) -> tuple[SimDevice, ...]:
    """Desk terminals at every site (a few plainly worse), staff terminals, web widgets."""
    devices: list[SimDevice] = []

    def add(device_id: str, channel: Channel, role: Role, site: Site, pop: float, q: float) -> None:
        devices.append(
            SimDevice(
                len(devices), device_id, channel, role, site.site_id, site.department_id, pop, q
            )
        )

    for site in sites:
        for n in range(1, rng.randint(*preset.desks_per_site) + 1):
            quality = rng.gauss(0.9, 0.45)
            add(f"{site.site_id}-desk-{n}", "terminal", "desk", site, rng.lognormvariate(0, 0.35),
                quality)  # fmt: skip
    # A few desks are plainly worse than their neighbours (the ranking should find them).
    desks = [d.index for d in devices]
    for index in rng.sample(desks, max(1, len(desks) // 40)):
        devices[index] = replace(devices[index], quality=-0.3)
    site_by_id = {s.site_id: s for s in sites}
    dep_ids = list(by_department)
    for j in range(preset.staff_terminals):
        site = site_by_id[by_department[dep_ids[j % len(dep_ids)]][j // len(dep_ids)]]
        add(f"{site.site_id}-staff", "terminal", "staff", site, 0.3, rng.gauss(0.4, 0.5))
    per_department = max(1, preset.web_widgets // len(dep_ids))
    for j in range(preset.web_widgets):
        dep_id = dep_ids[j % len(dep_ids)]
        site = site_by_id[by_department[dep_id][0]]
        name = f"web-{dep_id}" if per_department == 1 else f"web-{dep_id}-{j // len(dep_ids) + 1}"
        pop = preset.web_popularity * rng.lognormvariate(0, 0.2)
        add(name, "web", "web", site, pop, rng.gauss(0.6, 0.3))
    return tuple(devices)
