"""The annual report's service standards: each department standard's months (collected with the
same code as ``GET /v1/standards``) and the month x department table the report shows; and the
channels of each department side by side (the code of ``/v1/scores?by=channel``) with the gaps
the report names (:mod:`civicpulse.analytics.channels`).

Only department standards for every question (``question`` null) make the table's columns;
every month item of every standard is kept in the report's embedded data (``standards``).
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from civicpulse.analytics.report.texts import number

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from civicpulse.analytics.report.page import Page
    from civicpulse.schemas.catalogue import Catalogue

__all__ = ["channel_gaps_text", "collect_channels", "collect_standards", "standards_section"]


def collect_channels(client: Client, year: int, tz: str) -> list[dict[str, Any]]:
    """Per department and channel over the year: the ``/v1/scores?by=channel`` items."""
    from civicpulse.analytics.channels import channel_items
    from civicpulse.analytics.quarterly import SERVICE_CHANNELS
    from civicpulse.analytics.report.gather import year_range

    start, end = year_range(year, tz)
    rows = client.query(SERVICE_CHANNELS, parameters={"start": start, "end": end}).result_rows
    counted = [
        (str(d), str(s), str(c), int(n1), int(n2), int(n3), int(n4))
        for d, s, c, n1, n2, n3, n4 in rows
    ]
    return channel_items(counted, "department")


def channel_gaps_text(p: Page) -> str:
    """One paragraph per department whose channels differ by more than the gap threshold."""
    from civicpulse.analytics.channels import GAP_POINTS, channel_gaps
    from civicpulse.analytics.report.figures import MIN_RESPONSES

    gaps = channel_gaps(p.cur.get("channels_by_department", []))
    names = {d["id"]: d["name"] for d in p.cur["departments"]}
    rule = p.w("channel_gap_rule", points=number(GAP_POINTS, p.lang), min=MIN_RESPONSES)
    head = f"<p class='note'>{rule}</p>"
    lines = [
        p.w(
            "channel_gap",
            name=names.get(g.scope_id, g.scope_id),
            higher=p.t.get(g.higher, g.higher),
            higher_score=number(g.higher_score, p.lang),
            lower=p.t.get(g.lower, g.lower),
            lower_score=number(g.lower_score, p.lang),
            points=number(g.points, p.lang),
        )
        for g in gaps
    ]
    body = "".join(f"<p>{line}</p>" for line in lines) or f"<p>{p.w('channel_gap_none')}</p>"
    return head + body


def collect_standards(
    client: Client, year: int, tz: str, catalogue: Catalogue | None
) -> list[dict[str, Any]]:
    """Month items of every standard over the year's city days up to today."""
    from civicpulse.analytics.standards_read import (
        standards_items,  # standards_read -> api_queries -> report
    )

    if catalogue is None or not catalogue.standards:
        return []
    today = datetime.now(ZoneInfo(tz)).date()
    first, end = date(year, 1, 1), min(date(year + 1, 1, 1), today + timedelta(days=1))
    if end <= first:
        return []
    return standards_items(client, catalogue, tz=tz, first=first, end=end, granularity="month")


def _cell(p: Page, item: dict[str, Any] | None) -> str:
    if item is None:
        return "–"
    days = f"{item['days_met']}/{item['days_missed']}/{item['days_too_few']}"
    score = p.score({"n": item["responses"], "score": item["score"]})
    return f"{p.t['status_' + item['status']]} · {score} · {days}"


def standards_section(p: Page) -> str:
    """``<h3>`` + note + the month x department table (months the year has items for)."""
    items = [
        i
        for i in p.cur.get("standards", [])
        if i["scope"] == "department" and i["question"] is None
    ]
    head = f"<h3>{p.w('standards')}</h3>"
    if not items:
        return head + f"<p class='note'>{p.w('standards_none')}</p>"
    departments = sorted({i["id"] for i in items})
    names = {d["id"]: d["name"] for d in p.cur["departments"]}
    latest = {i["id"]: i for i in items}  # items come in period order: the last month's target
    targets = [
        html.escape(names.get(d, d))
        + ": "
        + p.w(
            "standard_target",
            target=number(latest[d]["target_score"], p.lang),
            min=p.i(latest[d]["min_responses_per_day"]),
        )
        for d in departments
    ]
    by_cell = {(i["period"], i["id"]): i for i in items}
    months = p.t["months"].split(",")
    periods = sorted({i["period"] for i in items})
    rows = [
        [months[int(period[5:7]) - 1], *(_cell(p, by_cell.get((period, d))) for d in departments)]
        for period in periods
    ]
    headers = [p.t["month"], *(names.get(d, d) for d in departments)]
    note = f"<p class='note'>{p.w('standards_note')} {'; '.join(targets)}.</p>"
    return head + note + p.table(headers, rows, len(headers))
