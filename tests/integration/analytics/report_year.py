"""A simulated year (and the one before) of the demo city for the annual report's tests, written
straight into the real engine through the project's row writer (``sink.rows.press_row``), plus
alerts and misuse review decisions; and an independent recomputation of the report's figures
from the stored rows (plain SELECTs and Python, none of the report's code).

About 25 000 presses a year: desks on weekdays in office hours, web widgets any time, staff
terminals answering the employee question; ~8 % filtered; the department ``transport`` improves
from one year to the next; one confirmed misuse period and one dismissed.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client

from civicpulse.analytics.review.periods import Suspect
from civicpulse.analytics.review.store import decide, store_suspects
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import AlertEvent, JudgedPress
from civicpulse.simulator.city import PRESETS, build_city
from civicpulse.sink.rows import ALERT_COLUMNS, PRESS_COLUMNS, alert_row, press_row

TZ = "Europe/Warsaw"
YEAR = 2026
_REJECTED = ("repeat", "burst", "clock_skew", "visitor_limit", "duplicate")
_QUALITY = {"civil-registry": 0.6, "transport": -0.4, "taxes": 0.1, "social": -0.1}


def demo_catalogue() -> Catalogue:
    return build_city(PRESETS["demo"], datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=1), 7)\
        .catalogue()  # fmt: skip


def _button(rng: random.Random, quality: float) -> int:
    good = min(0.95, max(0.05, 0.6 + 0.25 * quality))
    if rng.random() < good:
        return 4 if rng.random() < 0.6 else 3
    return 1 if rng.random() < 0.4 else 2


def simulate_year(catalogue: Catalogue, year: int, seed: int) -> list[JudgedPress]:
    """A year of judged presses in the city's local calendar."""
    rng = random.Random(f"{seed}:{year}")
    zone = ZoneInfo(TZ)
    kinds = {q.question_id: q.kind for q in catalogue.questions}
    presses: list[JudgedPress] = []
    day = datetime(year, 1, 1, tzinfo=zone)
    while day.year == year:
        workday = day.weekday() < 5
        for device in catalogue.devices:
            question = device.questions[-1].question_id if device.questions else None
            kind = kinds.get(question or "", "citizen")
            staff = kind == "employee"
            if device.channel == "terminal" and not workday:
                continue
            count = rng.randint(0, 2) if staff else rng.randint(0, 5)
            for _ in range(count):
                hour = rng.randint(0, 23) if device.channel == "web" else rng.randint(8, 15)
                local = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
                pressed = local.astimezone(UTC)
                quality = _QUALITY.get(device.department_id, 0.0)
                if device.department_id == "transport" and year == YEAR:
                    quality += 0.6
                presses.append(_press(rng, device, pressed, question, kind, quality))
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return presses


def _press(
    rng: random.Random, device: Any, pressed: datetime, question: str | None, kind: str,
    quality: float,
) -> JudgedPress:  # fmt: skip
    roll = rng.random()
    verdict = "counted" if roll < 0.92 else rng.choice(_REJECTED)
    web = device.channel == "web"
    if verdict == "visitor_limit" and not web:
        verdict = "repeat"
    known = roll < 0.995
    return JudgedPress(
        event_id=uuid.UUID(int=rng.getrandbits(128)),
        channel=device.channel,
        device_id=device.device_id if known else "ghost-1",
        button=_button(rng, quality),
        pressed_at=pressed,
        received_at=pressed + timedelta(seconds=1),
        visitor=f"visitor-{rng.getrandbits(40):010x}" if web else None,
        verdict=verdict if known else "unknown_device",
        site_id=device.site_id if known else None,
        department_id=device.department_id if known else None,
        question_id=question if known else None,
        question_kind=kind if known else None,
    )


def insert(client: Client, presses: list[JudgedPress]) -> None:
    rows = [press_row(p) for p in presses]
    for i in range(0, len(rows), 20_000):
        client.insert("presses", rows[i : i + 20_000], column_names=list(PRESS_COLUMNS))


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


#: (department, opened at, seconds to resolve or None while open)
AlertSpec = tuple[str, datetime, int | None]


def insert_alerts(client: Client) -> list[AlertSpec]:
    """Alerts of both years: resolved after 30 min, 2 h and 50 min, one opened on New Year's
    Eve resolved after midnight (40 min), one still open."""
    events: list[AlertSpec] = [
        ("transport", local(YEAR - 1, 3, 3, 9), 3 * 3600),
        ("transport", local(YEAR - 1, 6, 1, 10), 3600),
        ("taxes", local(YEAR, 2, 10, 9, 15), 30 * 60),
        ("social", local(YEAR, 5, 6, 11), 2 * 3600),
        ("transport", local(YEAR, 9, 15, 12, 5), 50 * 60),
        ("transport", local(YEAR, 12, 31, 23, 40), 40 * 60),
        ("social", local(YEAR, 11, 20, 14), None),
    ]
    rows = []
    for dep, opened, resolve_s in events:
        alert = uuid.uuid4()
        fields: dict[str, Any] = {
            "alert_id": alert,
            "scope": "department",
            "scope_id": dep,
            "department_id": dep,
            "mode": "threshold",
            "threshold": 50.0,
        }
        rows.append(
            alert_row(
                AlertEvent(
                    **fields,
                    state="opened",
                    score=38.0,
                    n=6,
                    at=opened,
                    window_start=opened - timedelta(minutes=15),
                    window_end=opened,
                )
            )
        )
        if resolve_s is not None:
            at = opened + timedelta(seconds=resolve_s)
            rows.append(
                alert_row(
                    AlertEvent(
                        **fields,
                        state="resolved",
                        score=64.0,
                        n=9,
                        at=at,
                        window_start=at - timedelta(minutes=15),
                        window_end=at,
                    )
                )
            )
    client.insert("alerts", rows, column_names=list(ALERT_COLUMNS))
    return events


def insert_reviews(client: Client, presses: list[JudgedPress]) -> int:
    """One confirmed period (a desk's presses over five days of June) and one dismissed;
    returns how many presses the confirmed period holds."""
    desk = next(p.device_id for p in presses if p.device_id.endswith("-desk-1"))
    start, end = local(YEAR, 6, 1, 0), local(YEAR, 6, 6, 0)
    inside = [p for p in presses if p.device_id == desk and start <= p.pressed_at < end]
    confirmed = Suspect(
        desk,
        "one_button_run",
        int(start.timestamp() * 1000),
        int(end.timestamp() * 1000),
        len(inside),
        "test",
        inside[0].site_id or "",
    )
    dismissed = Suspect(desk, "one_sided_hour", int(local(YEAR, 7, 1, 9).timestamp() * 1000),
                        int(local(YEAR, 7, 1, 10).timestamp() * 1000), 3, "test",
                        inside[0].site_id or "")  # fmt: skip
    store_suspects(client, [confirmed, dismissed], datetime.now(UTC))
    for suspect, state in ((confirmed, "confirmed"), (dismissed, "dismissed")):
        decide(client, suspect.id, state=state, note="test", by="test", tz=TZ)  # type: ignore[arg-type]
    return len(inside)


# -- the independent recomputation -----------------------------------------------------------


def _zero() -> list[int]:
    return [0, 0, 0, 0]


def _per_key() -> defaultdict[Any, list[int]]:
    return defaultdict(_zero)


@dataclass
class Expected:
    """Counts per button (n1..n4) of each figure, keyed like the report's entries."""

    city: list[int] = field(default_factory=_zero)
    departments: defaultdict[str, list[int]] = field(default_factory=_per_key)
    sites: defaultdict[str, list[int]] = field(default_factory=_per_key)
    site_department: dict[str, str] = field(default_factory=dict)
    months: defaultdict[int, list[int]] = field(default_factory=_per_key)
    heatmap: defaultdict[tuple[int, int], list[int]] = field(default_factory=_per_key)
    channels: defaultdict[str, list[int]] = field(default_factory=_per_key)
    employee: defaultdict[str, list[int]] = field(default_factory=_per_key)
    verdicts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))


def recompute(client: Client, year: int) -> Expected:
    """The year's figures from ``SELECT ... FROM presses FINAL`` and the confirmed periods."""
    zone = ZoneInfo(TZ)
    start = datetime(year, 1, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone)
    periods = client.query(
        "SELECT device_id, period_from, period_to FROM misuse_reviews FINAL "
        "WHERE state = 'confirmed'"
    ).result_rows
    rows = client.query(
        "SELECT CAST(channel, 'String'), device_id, button, pressed_at, CAST(verdict, 'String'), "
        "site_id, department_id, CAST(question_kind, 'Nullable(String)') FROM presses FINAL"
    ).result_rows

    e = Expected()
    for channel, device, button, at, verdict, site, dep, kind in rows:
        at = at.replace(tzinfo=UTC)
        if not start <= at < end:
            continue
        misuse = any(d == device and f.replace(tzinfo=UTC) <= at <= t.replace(tzinfo=UTC)
                     for d, f, t in periods)  # fmt: skip
        if verdict != "duplicate":
            e.verdicts["misuse" if verdict == "counted" and misuse else verdict] += 1
        if verdict != "counted" or site is None or misuse:
            continue
        b = button - 1
        if kind == "employee":
            e.employee[dep][b] += 1
            continue
        at_local = at.astimezone(zone)
        for acc in (e.departments[dep], e.sites[site], e.months[at_local.month],
                    e.heatmap[(at_local.isoweekday(), at_local.hour)], e.channels[channel],
                    e.city):  # fmt: skip
            acc[b] += 1
        e.site_department[site] = dep
    return e


def score(counts: list[int]) -> float:
    n = sum(counts)
    return 100 * (counts[1] + 2 * counts[2] + 3 * counts[3]) / (3 * n)
