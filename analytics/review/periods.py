"""Misuse review: suspect periods found over a device's presses (contract, DESIGN.md).

``scan(presses, book=..., hours=..., timezone=...)`` is a pure function over scanned presses
(the counted presses of citizen questions: see ``docs/review.md`` for why) and returns the
suspect periods, sorted by device, start, pattern and end. The offline command
(``civicpulse review scan FILE``) feeds it the presses the anti-spam judge counts; the live scan
feeds it the counted presses stored in ClickHouse: one code path.

Patterns (thresholds: :mod:`civicpulse.analytics.review.rules`):

* ``one_button_run`` (:mod:`.review_run`): one button far more often than the device's usual
  pace and button mix predict, at a human pace (staff lifting their own desk);
* ``recurring_bursts`` (:mod:`.review_bursts`): short bursts of one button, several in a city
  day, far more than the desk's own pace and mix, its other days and its site's other desks
  make likely (staff pressing a handful of times between citizens);
* ``one_sided_hour`` (:mod:`.review_patterns`): an hour whose presses turn to one side while
  the device's neighbours at the same site do not move;
* ``outside_hours`` (:mod:`.review_patterns`): presses while the site is closed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from civicpulse.analytics.review.rules import ReviewBook
from civicpulse.schemas.catalogue import OpeningHours
from civicpulse.schemas.events import Channel

__all__ = [
    "PATTERNS",
    "DeviceHistory",
    "Pattern",
    "ScanPress",
    "SiteContext",
    "Suspect",
    "format_ms",
    "scan",
]

Pattern = Literal["one_button_run", "recurring_bursts", "one_sided_hour", "outside_hours"]
PATTERNS: tuple[Pattern, ...] = (
    "one_button_run", "recurring_bursts", "one_sided_hour", "outside_hours")  # fmt: skip
#: how far around a first pass's suspect period presses are left out of what is usual
_HOLE_PAD_MS = 120_000
_NAMESPACE = uuid.UUID("4f6c2a52-8c1e-4d3a-9a55-0c1d7e2b9f10")


@dataclass(frozen=True, slots=True)
class ScanPress:
    """One scanned press: what the patterns need, nothing more (``at_ms``: pressed_at, epoch ms)."""

    event_id: str
    device_id: str
    channel: Channel
    site_id: str
    department_id: str
    at_ms: int
    button: int


@dataclass(frozen=True)
class Suspect:
    """One suspect period of one device: ``[from_ms, to_ms]`` holds ``presses`` scanned presses."""

    device_id: str
    pattern: Pattern
    from_ms: int
    to_ms: int
    presses: int
    evidence: str
    site_id: str
    figures: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable id: the same period found twice (offline, live, rescan) has the same id."""
        key = f"{self.device_id}|{self.pattern}|{self.from_ms}|{self.to_ms}"
        return str(uuid.uuid5(_NAMESPACE, key))

    def sort_key(self) -> tuple[str, int, str, int]:
        return (self.device_id, self.from_ms, self.pattern, self.to_ms)

    def record(self) -> dict[str, Any]:
        """The contract's JSON line (plus ``id``, ``site_id`` and the figures behind the text)."""
        return {
            "device_id": self.device_id,
            "from": format_ms(self.from_ms),
            "to": format_ms(self.to_ms),
            "pattern": self.pattern,
            "presses": self.presses,
            "evidence": self.evidence,
            "id": self.id,
            "site_id": self.site_id,
            "figures": dict(self.figures),
        }


def format_ms(ms: int) -> str:
    """Epoch ms -> UTC ISO-8601 with ms and ``Z`` (the events' wire form)."""
    from datetime import UTC, datetime, timedelta

    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class DeviceHistory:
    """One device's scanned presses in time order (ties by event id), with its button counts."""

    device_id: str
    channel: Channel
    site_id: str
    department_id: str
    times: list[int] = field(default_factory=list)
    buttons: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])


@dataclass
class SiteContext:
    """Every device of one site and department: the neighbours and the prior button mix."""

    devices: dict[str, DeviceHistory]
    by_site: dict[str, list[DeviceHistory]]
    by_department: dict[str, list[DeviceHistory]]

    def neighbours(self, device: DeviceHistory) -> list[DeviceHistory]:
        """Devices of the same channel at the same site (else in the same department)."""
        for pool in (self.by_site[device.site_id], self.by_department[device.department_id]):
            found = [
                d for d in pool if d.device_id != device.device_id and d.channel == device.channel
            ]
            if found:
                return found
        return []

    def prior_mix(self, device: DeviceHistory) -> list[float]:
        """Button shares (index 1..4) of the device's neighbours, else of every device, plus one
        press of each button: what a device is expected to look like before its own history."""
        pool = self.neighbours(device)
        if sum(sum(d.counts) for d in pool) < 20:
            pool = list(self.devices.values())
        counts = [1.0 + sum(d.counts[b] for d in pool) for b in range(5)]
        counts[0] = 0.0
        total = sum(counts)
        return [c / total for c in counts]


def _histories(presses: Iterable[ScanPress]) -> SiteContext:
    rows = sorted(presses, key=lambda p: (p.device_id, p.at_ms, p.event_id))
    devices: dict[str, DeviceHistory] = {}
    for press in rows:
        device = devices.get(press.device_id)
        if device is None:
            device = devices[press.device_id] = DeviceHistory(
                press.device_id, press.channel, press.site_id, press.department_id
            )
        device.times.append(press.at_ms)
        device.buttons.append(press.button)
        device.counts[press.button] += 1
    by_site: dict[str, list[DeviceHistory]] = defaultdict(list)
    by_department: dict[str, list[DeviceHistory]] = defaultdict(list)
    for device in devices.values():
        by_site[device.site_id].append(device)
        by_department[device.department_id].append(device)
    return SiteContext(devices, dict(by_site), dict(by_department))


def scan(
    presses: Iterable[ScanPress],
    *,
    book: ReviewBook | None = None,
    hours: Mapping[str, OpeningHours] | None = None,
    timezone: str = "Europe/Warsaw",
) -> list[Suspect]:
    """Every suspect period of every device, in a deterministic order.

    ``hours`` maps site ids to their opening hours (sites left out: the outside-hours pattern
    does not apply); ``timezone`` is the city's, for hours that do not name their own.
    """
    from civicpulse.analytics.review.bursts import TallyCache, recurring_bursts
    from civicpulse.analytics.review.patterns import one_sided_hours, outside_hours
    from civicpulse.analytics.review.runs import one_button_runs

    book = book or ReviewBook()
    hours = hours or {}
    context = _histories(presses)
    found: list[Suspect] = []
    tallies: TallyCache = {}
    runs: dict[str, list[Suspect]] = {}
    for device in context.devices.values():
        rules = book.for_device(device.channel, device.site_id)
        if rules.one_button_run:
            runs[device.device_id] = one_button_runs(device, context, rules, timezone)
        if rules.recurring_bursts:
            found.extend(recurring_bursts(device, context, rules, timezone, tallies))
        if rules.one_sided_hour:
            found.extend(one_sided_hours(device, context, rules, timezone))
        site_hours = hours.get(device.site_id)
        if rules.outside_hours and site_hours is not None:
            found.extend(outside_hours(device, site_hours, rules, timezone))
    found.extend(_second_pass(context, book, timezone, runs, found))
    return sorted(found, key=Suspect.sort_key)


def _second_pass(
    context: SiteContext,
    book: ReviewBook,
    timezone: str,
    runs: dict[str, list[Suspect]],
    found: list[Suspect],
) -> list[Suspect]:
    """The one-button runs again, where the device or a neighbour had a suspect run or burst in
    the first pass: those periods are left out of what is learnt as usual (one staff run in the
    context hour made the next one look usual; a neighbour's run raised the expectation)."""
    from civicpulse.analytics.review.runs import one_button_runs

    holes: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for suspect in [*found, *(s for pieces in runs.values() for s in pieces)]:
        if suspect.pattern in ("one_button_run", "recurring_bursts"):
            pad = _HOLE_PAD_MS  # a run's first presses may be hugged out of its period
            holes[suspect.device_id].append((suspect.from_ms - pad, suspect.to_ms + pad))
    again: list[Suspect] = []
    for device_id, first in runs.items():
        device = context.devices[device_id]
        near = [device, *context.neighbours(device)]
        if not any(d.device_id in holes for d in near):
            again.extend(first)
            continue
        rules = book.for_device(device.channel, device.site_id)
        again.extend(one_button_runs(device, context, rules, timezone, holes))
    return again
