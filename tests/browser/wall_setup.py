"""A city for the live wall: catalogue names, a simulated day loaded into the real engine, and
the figures recomputed independently from the loaded presses (not through the wall's SQL)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clickhouse_connect.driver.client import Client

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import JudgedPress
from civicpulse.sink.rows import ALERT_COLUMNS
from tests.integration.analytics.data import (
    DAY_START,
    insert_presses,
    insert_scores,
    make_presses,
    stream_scores,
)

__all__ = ["AT", "NAMES", "Expected", "expected", "load_day", "wall_catalogue"]

# The wall is shown at 13:00 local time of the simulated day (the data runs 8 h before and 1 h
# after, so the 15-min window, the last minute and the 6-h sparkline are all full).
AT = DAY_START + timedelta(hours=13)
NAMES = {
    "dep-a": "Wydział Spraw Obywatelskich",
    "dep-b": "Urząd Stanu Cywilnego",
    "site-a": "Ratusz, sala obsługi",
    "site-b": "Filia Nowa Huta",
    "site-c": "USC Podgórze",
}
_SITES = {"site-a": "dep-a", "site-b": "dep-a", "site-c": "dep-b"}


def wall_catalogue() -> Catalogue:
    devices = [("t1", "site-a"), ("t2", "site-b"), ("t3", "site-c"), ("t4", "site-c")]
    return Catalogue.model_validate(
        {
            "departments": [{"department_id": d, "name": NAMES[d]} for d in ("dep-a", "dep-b")],
            "sites": [
                {"site_id": s, "department_id": d, "name": NAMES[s]} for s, d in _SITES.items()
            ],
            "questions": [
                {"question_id": "q1", "text": {"pl": "?", "en": "?"}, "kind": "citizen"},
                {"question_id": "q2", "text": {"pl": "?", "en": "?"}, "kind": "citizen"},
                {"question_id": "qe", "text": {"pl": "?", "en": "?"}, "kind": "employee"},
            ],
            "devices": [
                {
                    "device_id": device,
                    "channel": "terminal",
                    "site_id": site,
                    "department_id": _SITES[site],
                    "active_from": "2024-01-01T00:00:00Z",
                }
                for device, site in devices
            ],
            # dep-a has a service standard (every question); dep-b has none
            "standards": [
                {
                    "scope": "department",
                    "id": "dep-a",
                    "target_score": 70,
                    "min_responses_per_day": 5,
                    "from": "2024-01-01",
                },
            ],
        }
    )


def _alert(alert_id: uuid.UUID, state: str, dep: str, at: datetime) -> list[object]:
    return [alert_id, state, "department", dep, dep, "threshold", 31.5, 6, 50.0,
            at - timedelta(minutes=15), at, at, "low_score", None, None]  # fmt: skip


def load_day(client: Client) -> tuple[list[JudgedPress], uuid.UUID]:
    """Presses from 8 h before AT to 1 h after, the stream's scores for windows closed by AT, one
    open alert (dep-a) and one opened-and-resolved (dep-b). Returns presses and the open id."""
    presses = make_presses(
        count=6000, seed=11, start=AT - timedelta(hours=8), span=timedelta(hours=9)
    )
    insert_presses(client, presses)
    insert_presses(client, presses[:200])  # re-delivered: stored once
    insert_scores(client, stream_scores(presses, AT - timedelta(hours=8), AT))
    open_id, closed_id = uuid.uuid4(), uuid.uuid4()
    rows = [
        _alert(open_id, "opened", "dep-a", AT - timedelta(minutes=30)),
        _alert(closed_id, "opened", "dep-b", AT - timedelta(minutes=50)),
        _alert(closed_id, "resolved", "dep-b", AT - timedelta(minutes=20)),
        _alert(uuid.uuid4(), "opened", "dep-b", AT + timedelta(minutes=5)),  # after AT
    ]
    client.insert("alerts", rows, column_names=list(ALERT_COLUMNS))
    return presses, open_id


@dataclass(frozen=True)
class Expected:
    n: int
    score: float | None
    presses_1m: int
    spark_points: int


def expected(presses: Sequence[JudgedPress], keep: str | None, level: str) -> Expected:
    """Independent recomputation in Python: counted citizen presses, each event once."""
    seen: set[uuid.UUID] = set()
    mine: list[JudgedPress] = []
    for p in presses:
        if p.verdict != "counted" or p.event_id in seen or p.question_kind == "employee":
            continue
        seen.add(p.event_id)
        scope_id = p.site_id if level == "site" else p.department_id
        if keep is None or scope_id == keep:
            mine.append(p)
    window = [p for p in mine if AT - timedelta(minutes=15) <= p.pressed_at < AT]
    score = 100 * sum((p.button - 1) / 3 for p in window) / len(window) if window else None
    spark = 0
    for k in range(72):  # window ends every 5 min in (AT - 6 h, AT]
        end = AT - timedelta(minutes=5 * k)
        if any(end - timedelta(minutes=15) <= p.pressed_at < end for p in mine):
            spark += 1
    return Expected(
        n=len(window),
        score=score,
        presses_1m=sum(1 for p in window if p.pressed_at >= AT - timedelta(minutes=1)),
        spark_points=spark,
    )
