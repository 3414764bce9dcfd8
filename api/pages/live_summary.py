"""What the live wall shows, in one answer: ``GET /v1/live/summary``.

:func:`fetch_summary` runs the four queries of :mod:`civicpulse.analytics.live_queries` and
:func:`assemble` turns their rows and the catalogue's names into :class:`LiveSummary` (pure, so
it is tested without a database). The wall asks every few seconds and hears alerts from
``/v1/alerts/stream`` in between, so one compact answer keeps it cheap for the engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from civicpulse.analytics.alert_lifecycle import Lifecycle, lifecycles
from civicpulse.analytics.live_queries import (
    LIVE_OPEN_ALERTS,
    LIVE_PRESSES,
    LIVE_SCORES,
    LIVE_SPARKLINE,
)
from civicpulse.schemas.catalogue import Catalogue

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "CURRENT_WITHIN",
    "SPARK_SPAN",
    "SPARK_STEP",
    "LiveAlert",
    "LiveComment",
    "LiveFigure",
    "LiveStandard",
    "LiveSummary",
    "Rows",
    "SparkPoint",
    "assemble",
    "fetch_summary",
    "with_standards",
]

Level = Literal["department", "site"]
# A latest window older than this is not "now": the figure shows as having no current score.
CURRENT_WITHIN = timedelta(hours=1)
SPARK_SPAN = timedelta(hours=6)
SPARK_STEP = timedelta(minutes=5)


class SparkPoint(BaseModel):
    at: datetime
    score: float | None
    n: int


class LiveComment(BaseModel):
    by: str
    at: datetime
    comment: str


class LiveAlert(BaseModel):
    alert_id: str
    scope: str
    scope_id: str
    name: str
    department_id: str
    score: float
    n: int
    threshold: float
    at: datetime
    kind: str = "low_score"
    window_start: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    comments: list[LiveComment] = []


class LiveStandard(BaseModel):
    """This month's attainment of the figure's service standard (every question), so far."""

    period: str
    target_score: float
    min_responses_per_day: int
    status: str
    score: float | None
    responses: int
    days_met: int
    days_missed: int
    days_too_few: int


class LiveFigure(BaseModel):
    id: str
    name: str
    score: float | None = None
    n: int = 0
    window_end: datetime | None = None
    presses_1m: int = 0
    presses_15m: int = 0
    spark: list[SparkPoint] = []
    open_alerts: int = 0
    standard: LiveStandard | None = None


class LiveSummary(BaseModel):
    at: datetime
    level: Level
    department: LiveFigure | None = None
    total: LiveFigure
    items: list[LiveFigure]
    alerts: list[LiveAlert]


@dataclass(frozen=True)
class Rows:
    """Raw rows of the four live queries, for one level and, for the total, one more pair."""

    scores: Sequence[tuple[Any, ...]]
    spark: Sequence[tuple[Any, ...]]
    presses: Sequence[tuple[Any, ...]]
    alerts: Sequence[tuple[Any, ...]]
    total_scores: Sequence[tuple[Any, ...]]
    total_spark: Sequence[tuple[Any, ...]]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _names(catalogue: Catalogue, level: Level, department: str | None) -> dict[str, str]:
    if level == "department":
        return {d.department_id: d.name for d in catalogue.departments}
    return {s.site_id: s.name for s in catalogue.sites if s.department_id == department}


def _figure(fid: str, name: str, rows: Rows, scores: Sequence[tuple[Any, ...]]) -> LiveFigure:
    figure = LiveFigure(id=fid, name=name)
    for scope_id, last_end, n, score in scores:
        if scope_id == fid or not fid:
            figure.window_end, figure.n = _utc(last_end), int(n)
            figure.score = None if score is None else float(score)
    return figure


def _spark(rows: Sequence[tuple[Any, ...]], fid: str | None) -> list[SparkPoint]:
    return [
        SparkPoint(at=_utc(end), n=int(n), score=None if s is None else float(s))
        for scope_id, end, n, s in rows
        if fid is None or scope_id == fid
    ]


def _live_alert(row: Sequence[Any], names: Mapping[str, str], life: Lifecycle) -> LiveAlert:
    alert_id, scope, scope_id, department_id, score, n, threshold, at, kind, start = row
    return LiveAlert(
        alert_id=str(alert_id),
        scope=str(scope),
        scope_id=str(scope_id),
        name=names.get(str(scope_id), str(scope_id)),
        department_id=str(department_id),
        score=float(score),
        n=int(n),
        threshold=float(threshold),
        at=_utc(at),
        kind=str(kind),
        window_start=_utc(start),
        acked_by=life.acked_by,
        acked_at=None if life.acked_at is None else _utc(life.acked_at),
        comments=[
            LiveComment(by=c["by"], at=_utc(c["at"]), comment=c["comment"]) for c in life.comments
        ],
    )


def assemble(
    rows: Rows,
    catalogue: Catalogue,
    *,
    at: datetime,
    level: Level,
    department: str | None = None,
    lifecycles: Mapping[str, Lifecycle] | None = None,
) -> LiveSummary:
    """Rows plus catalogue names -> the wall's figures (catalogue order, then unknown ids);
    ``lifecycles`` (by alert id) says who acknowledged or commented an open alert."""
    names = _names(catalogue, level, department)
    ids = list(names)
    ids += sorted({str(r[0]) for r in [*rows.scores, *rows.presses]} - set(names))
    presses = {str(r[0]): (int(r[1]), int(r[2])) for r in rows.presses}
    alert_names = {**{d.department_id: d.name for d in catalogue.departments}}
    alert_names.update({s.site_id: s.name for s in catalogue.sites})
    alerts = [
        _live_alert(a, alert_names, (lifecycles or {}).get(str(a[0]), Lifecycle()))
        for a in rows.alerts
    ]
    items = []
    for fid in ids:
        figure = _figure(fid, names.get(fid, fid), rows, rows.scores)
        figure.presses_1m, figure.presses_15m = presses.get(fid, (0, 0))
        figure.spark = _spark(rows.spark, fid)
        figure.open_alerts = sum(1 for a in alerts if a.scope == level and a.scope_id == fid)
        items.append(figure)
    dep_name = {d.department_id: d.name for d in catalogue.departments}
    total_id = department or ""
    total = _figure(total_id, dep_name.get(total_id, total_id), rows, rows.total_scores)
    total.id = total_id or "city"
    total.presses_1m = sum(p[0] for p in presses.values())
    total.presses_15m = sum(p[1] for p in presses.values())
    total.spark = _spark(rows.total_spark, None)
    total.open_alerts = len(alerts)
    return LiveSummary(
        at=at,
        level=level,
        department=total if department else None,
        total=total,
        items=items,
        alerts=alerts,
    )


def with_standards(
    summary: LiveSummary, client: Client, catalogue: Catalogue, *, tz: str
) -> LiveSummary:
    """Each card's service standard for every question (its department's or its site's) with
    this month's attainment up to the summary's city day (:mod:`civicpulse.analytics.standards`)."""
    from civicpulse.analytics.standards_read import standards_items

    if not catalogue.standards:
        return summary
    today = summary.at.astimezone(ZoneInfo(tz)).date()
    items = standards_items(
        client,
        catalogue,
        tz=tz,
        first=today.replace(day=1),
        end=today + timedelta(days=1),
        granularity="month",
        department=summary.department.id if summary.department else "",
    )
    fields = list(LiveStandard.model_fields)
    found = {
        (i["scope"], i["id"]): LiveStandard(**{k: i[k] for k in fields})
        for i in items
        if i["question"] is None
    }
    for figure in summary.items:
        figure.standard = found.get((summary.level, figure.id))
    if summary.department is not None:
        summary.department.standard = found.get(("department", summary.department.id))
    return summary


def fetch_summary(
    client: Client,
    catalogue: Catalogue,
    at: datetime,
    department: str | None = None,
    *,
    tz: str | None = None,
) -> LiveSummary:
    """The city wall (``department`` None: one row per department) or one department's sites;
    with ``tz`` (the city's zone) each card carries its standard (:func:`with_standards`)."""
    level: Level = "site" if department else "department"
    at = _utc(at)
    base = {
        "at": at,
        "since": at - CURRENT_WITHIN,
        "spark_since": at - SPARK_SPAN,
        "step_s": int(SPARK_STEP.total_seconds()),
        "minute_ago": at - timedelta(minutes=1),
        "quarter_ago": at - timedelta(minutes=15),
        "department": department or "",
    }
    # A department with no catalogued site gets [""]: an empty list would mean "every site".
    ids = (list(_names(catalogue, level, department)) or [""]) if department else []
    level_params = {**base, "scope": level, "ids": ids}
    if department:
        total_params = {**base, "scope": "department", "ids": [department]}
    else:
        total_params = {**base, "scope": "city", "ids": []}

    def run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in client.query(sql, parameters=params).result_rows]

    rows = Rows(
        scores=run(LIVE_SCORES, level_params),
        spark=run(LIVE_SPARKLINE, level_params),
        presses=run(LIVE_PRESSES, level_params),
        alerts=run(LIVE_OPEN_ALERTS, level_params),
        total_scores=run(LIVE_SCORES, total_params),
        total_spark=run(LIVE_SPARKLINE, total_params),
    )
    found = lifecycles(client, [uuid.UUID(str(a[0])) for a in rows.alerts])
    summary = assemble(
        rows,
        catalogue,
        at=at,
        level=level,
        department=department,
        lifecycles={str(k): v for k, v in found.items()},
    )
    return summary if tz is None else with_standards(summary, client, catalogue, tz=tz)
