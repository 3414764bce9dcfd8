"""Test data for the analytics stage (verify, rollups, export, report): judged presses around a
DST change, inserted into the real engine, and the scores the stream's own pure functions give.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client

from civicpulse.schemas.events import JudgedPress, ScoreEvent
from civicpulse.sink.rows import PRESS_COLUMNS, SCORE_COLUMNS, press_row, score_row
from civicpulse.stream.stages.scores.formula import (
    Counts,
    ScopeKey,
    WindowName,
    scopes_of,
    score_event,
)
from civicpulse.stream.stages.scores.windows import windows_of

TZ = "Europe/Warsaw"
CITY = "krakow"
# Warsaw springs forward on 2026-03-29 (a 23-hour day); the data spans 28th .. 30th.
DAY_START = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 2026-03-29 00:00 local
DAY_END = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # 2026-03-30 00:00 local

_DEVICES = [
    # device, site, department, question, kind
    ("t1", "site-a", "dep-a", "q1", "citizen"),
    ("t2", "site-b", "dep-a", None, None),
    ("t3", "site-c", "dep-b", "qe", "employee"),
    ("t4", "site-c", "dep-b", "q2", "citizen"),
]
_REJECTED = ["repeat", "burst", "duplicate", "clock_skew"]


def make_presses(
    count: int = 600,
    seed: int = 7,
    start: datetime = DAY_START - timedelta(hours=3),
    span: timedelta = timedelta(hours=30),
) -> list[JudgedPress]:
    """Presses spread over ``span`` from ``start``; ~20% rejected, a few unknown devices."""
    rng = random.Random(seed)
    presses: list[JudgedPress] = []
    for _ in range(count):
        device: str
        site: str | None
        dep: str | None
        question: str | None
        kind: str | None
        device, site, dep, question, kind = rng.choice(_DEVICES)
        pressed = start + timedelta(milliseconds=rng.randrange(int(span.total_seconds() * 1000)))
        roll = rng.random()
        verdict = "counted" if roll < 0.8 else rng.choice(_REJECTED)
        if roll > 0.97:
            verdict, site, dep, question, kind = "unknown_device", None, None, None, None
        presses.append(
            JudgedPress(
                event_id=uuid.UUID(int=rng.getrandbits(128)),
                channel="terminal",
                device_id=device,
                button=rng.choice([1, 2, 3, 3, 4, 4, 4]),
                pressed_at=pressed,
                received_at=pressed + timedelta(seconds=1),
                reason=rng.choice([None, "queue", "staff"]),
                lang=rng.choice([None, "pl", "en"]),
                verdict=verdict,
                site_id=site,
                department_id=dep,
                question_id=question,
                question_kind=kind,
            )
        )
    return presses


def insert_presses(client: Client, presses: Sequence[JudgedPress]) -> None:
    client.insert("presses", [press_row(p) for p in presses], column_names=list(PRESS_COLUMNS))
    # ingested_at is now64(3) per insert: keep inserts in distinct milliseconds
    time.sleep(0.005)


def insert_scores(client: Client, scores: Sequence[ScoreEvent]) -> None:
    client.insert("scores", [score_row(s) for s in scores], column_names=list(SCORE_COLUMNS))


def stream_scores(
    presses: Sequence[JudgedPress], since: datetime, until: datetime
) -> list[ScoreEvent]:
    """The closed windows inside [since, until) as the stream's pure functions score them."""
    zone = ZoneInfo(TZ)
    seen: set[uuid.UUID] = set()
    acc: dict[tuple[ScopeKey, WindowName, datetime, datetime], Counts] = defaultdict(Counts)
    for press in presses:
        if press.verdict != "counted" or press.event_id in seen:
            continue
        seen.add(press.event_id)
        for key in scopes_of(press, CITY):
            for window in windows_of(press.pressed_at, zone):
                if window.start >= since and window.end <= until:
                    slot = (key, window.name, window.start, window.end)
                    acc[slot] = acc[slot].add(press.button)
    return [score_event(key, name, s, e, c) for (key, name, s, e), c in acc.items()]
