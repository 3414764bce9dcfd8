"""The figures each panel should show, recomputed in Python from the rows the engine stores.

Nothing here runs SQL: every oracle walks the stored presses (or alerts) read back with a plain
SELECT, applying the panel's meaning (time filter semantics of the plugin's macros, the selected
variables) in plain code. Keys are (dashboard uid, panel title); the fair ranking uses the
annual report's own shrinkage function, so the dashboard ranks as the report does.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from civicpulse.analytics.report.gather import shrunk
from civicpulse.analytics.standards import attainment, department_of
from civicpulse.dashboards.macros import ALL, QueryContext, Value

from .city import TZ, Stored

__all__ = ["ORACLES", "VARIABLE_ORACLES", "Oracle"]

Row = tuple[Any, ...]
Oracle = Callable[[Stored, QueryContext, Mapping[str, Value]], list[Row]]
ZONE = ZoneInfo(TZ)


# -- helpers -------------------------------------------------------------------------------------
def _kind(p: dict[str, Any]) -> str:
    return p["question_kind"] or "citizen"


def _counted(stored: Stored, kind: str = "citizen") -> list[dict[str, Any]]:
    return [
        p
        for p in stored.final_presses()
        if p["verdict"] == "counted"
        and p["site_id"] is not None
        and p["department_id"] is not None
        and _kind(p) == kind
    ]


def _score(counts: Iterable[int]) -> float | None:
    n1, n2, n3, n4 = counts
    n = n1 + n2 + n3 + n4
    return None if n == 0 else 100 * (n2 + 2 * n3 + 3 * n4) / (3 * n)


def _buttons(presses: Iterable[dict[str, Any]]) -> list[int]:
    counts = [0, 0, 0, 0]
    for p in presses:
        counts[p["button"] - 1] += 1
    return counts


def _seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _in_hours(p: dict[str, Any], ctx: QueryContext) -> bool:
    """Rollup rows: the UTC hour bucket starts within [$__fromTime, $__toTime)."""
    start = _hour(p["pressed_at"]).timestamp()
    return _seconds(ctx.start) <= start < _seconds(ctx.end)


def _time_filter(moment: datetime, ctx: QueryContext) -> bool:
    """``$__timeFilter``: col >= toDateTime(from s) AND col <= toDateTime(to s)."""
    return _seconds(ctx.start) <= moment.timestamp() <= _seconds(ctx.end)


def _time_filter_ms(moment: datetime, ctx: QueryContext) -> bool:
    ms = round(moment.timestamp() * 1000)
    return math.floor(ctx.start.timestamp() * 1000) <= ms <= math.floor(ctx.end.timestamp() * 1000)


def _bucket(moment: datetime, ctx: QueryContext) -> datetime:
    step = max(int(ctx.interval.total_seconds()), 1)
    return datetime.fromtimestamp(math.floor(moment.timestamp()) // step * step, UTC)


def _selected(value: Any, selection: Value | None) -> bool:
    if selection is None or selection == ALL or selection == [ALL]:
        return True
    values = [selection] if isinstance(selection, str) else list(selection)
    return value in values


def _selection(p: dict[str, Any], sel: Mapping[str, Value]) -> bool:
    return (
        _selected(p["department_id"], sel.get("department"))
        and _selected(p["site_id"], sel.get("site"))
        and _selected(p["question_id"] or "", sel.get("question"))
    )


def _local_hour_start(moment: datetime) -> datetime:
    return _hour(moment.astimezone(ZONE)).astimezone(UTC)


# -- city overview ---------------------------------------------------------------------------
def city_score_comparison(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    hours: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    for p in _counted(stored):
        hours[_local_hour_start(p["pressed_at"])].append(p)
    closed = [start for start in hours if start + timedelta(hours=1) <= ctx.end]
    this_hour = max(closed)

    def back(days: int) -> float | None:
        # wall-clock arithmetic in the zone: the same local hour, whatever the UTC offset
        earlier = (this_hour.astimezone(ZONE) - timedelta(days=days)).astimezone(UTC)
        return _score(_buttons(hours[earlier])) if earlier in hours else None

    return [(this_hour, _score(_buttons(hours[this_hour])), back(1), back(28))]


def presses_per_minute(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    per: dict[datetime, Counter[str]] = defaultdict(Counter)
    for p in stored.final_presses():
        if _time_filter(p["pressed_at"], ctx):
            per[_bucket(p["pressed_at"], ctx)]["all"] += 1
            per[_bucket(p["pressed_at"], ctx)]["counted"] += p["verdict"] == "counted"
    scale = 60 / max(int(ctx.interval.total_seconds()), 1)
    return [(t, c["all"] * scale, c["counted"] * scale) for t, c in sorted(per.items())]


def filtered_share(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    judged = [p for p in stored.final_presses() if _time_filter(p["pressed_at"], ctx)]
    return [(sum(p["verdict"] != "counted" for p in judged) / len(judged),)]


def _open_alerts(stored: Stored, ctx: QueryContext) -> list[dict[str, Any]]:
    alerts = stored.final_alerts()
    end = _seconds(ctx.end)
    closed = {
        a["alert_id"] for a in alerts if a["state"] == "resolved" and a["at"].timestamp() <= end
    } | {
        a["alert_id"]
        for a in _final_actions(stored)
        if a["action"] == "close" and a["at"].timestamp() <= end
    }
    opened = [
        a
        for a in alerts
        if a["state"] == "opened"
        and a["kind"] != "recognition"
        and a["at"].timestamp() <= end
        and a["alert_id"] not in closed
    ]
    return sorted(opened, key=lambda a: (a["at"], a["alert_id"]))


def open_alerts(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    keys = ("alert_id", "scope", "scope_id", "department_id", "at", "score", "n", "threshold")
    return [tuple(a[k] for k in keys) for a in _open_alerts(stored, ctx)]


def open_alert_count(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    return [(len(_open_alerts(stored, ctx)),)]


# -- department drill-down -------------------------------------------------------------------
def _department_presses(
    stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]
) -> list[dict[str, Any]]:
    return [p for p in _counted(stored) if _in_hours(p, ctx) and _selection(p, sel)]


def _grouped(
    presses: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any]
) -> dict[Any, list[int]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for p in presses:
        groups[key(p)].append(p)
    return {k: _buttons(v) for k, v in groups.items()}


def _n_score_share(counts: list[int]) -> tuple[int, float | None, float]:
    n = sum(counts)
    return n, _score(counts), (counts[2] + counts[3]) / n


def department_score_per_hour(
    stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]
) -> list[Row]:
    groups = _grouped(_department_presses(stored, ctx, sel), lambda p: _hour(p["pressed_at"]))
    return [(hour, _score(c), sum(c)) for hour, c in sorted(groups.items())]


def department_buttons(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    return [tuple(_buttons(_department_presses(stored, ctx, sel)))]


def department_sites(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    groups = _grouped(_department_presses(stored, ctx, sel), lambda p: p["site_id"])
    return [(site, *_n_score_share(c)) for site, c in sorted(groups.items())]


def department_questions(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    presses = [p for p in _department_presses(stored, ctx, sel) if p["question_id"] is not None]
    groups = _grouped(presses, lambda p: p["question_id"])
    return [(q, *_n_score_share(c)) for q, c in sorted(groups.items())]


def department_options(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    return [(d,) for d in sorted({p["department_id"] for p in _counted(stored)})]


def site_options(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    pool = [p for p in _counted(stored) if _selected(p["department_id"], sel.get("department"))]
    return [(s,) for s in sorted({p["site_id"] for p in pool})]


def question_options(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    pool = [
        p
        for p in _counted(stored)
        if p["question_id"] is not None
        and _selected(p["department_id"], sel.get("department"))
        and _selected(p["site_id"], sel.get("site"))
    ]
    return [(q,) for q in sorted({p["question_id"] for p in pool})]


# -- site and desks --------------------------------------------------------------------------
def site_choices(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    return [
        (s,)
        for s in sorted(
            {p["site_id"] for p in _counted(stored)}
            | {p["site_id"] for p in _counted(stored, "employee")}
        )
    ]


def site_desks(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    devices: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in stored.final_presses():
        if p["site_id"] == sel["site"] and _time_filter(p["pressed_at"], ctx):
            devices[p["device_id"]].append(p)
    rows = []
    for device, presses in sorted(devices.items()):
        counted = [p for p in presses if p["verdict"] == "counted" and _kind(p) == "citizen"]
        filtered = sum(p["verdict"] != "counted" for p in presses) / len(presses)
        rows.append((device, len(counted), _score(_buttons(counted)), filtered))
    return rows


def site_score_15m(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    windows: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for p in _counted(stored):
        if p["site_id"] != sel["site"]:
            continue
        minute = p["pressed_at"].replace(second=0, microsecond=0)
        for k in range(15):
            end = minute - timedelta(minutes=k) + timedelta(minutes=15)
            windows[end][p["button"] - 1] += 1
    return [
        (end, _score(c), sum(c)) for end, c in sorted(windows.items()) if _time_filter_ms(end, ctx)
    ]


# -- heat map and ranking --------------------------------------------------------------------
def heatmap_grid(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    department = sel.get("department")
    presses = [
        p
        for p in _counted(stored)
        if _in_hours(p, ctx) and _selected(p["department_id"], department)
    ]

    def cell(p: dict[str, Any]) -> tuple[int, int]:
        local = _hour(p["pressed_at"]).astimezone(ZONE)
        return local.isoweekday(), local.hour

    groups = _grouped(presses, cell)
    return [(w, h, sum(c), _score(c)) for (w, h), c in sorted(groups.items())]


def site_ranking(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    presses = [p for p in _counted(stored) if _in_hours(p, ctx)]
    groups = _grouped(presses, lambda p: (p["site_id"], p["department_id"]))
    city_mean = _score(_buttons(presses)) or 0.0
    sites = [
        (site, dep, sum(c), _score(c), shrunk(sum(c), _score(c), city_mean))
        for (site, dep), c in groups.items()
    ]
    sites.sort(key=lambda s: (-s[4], s[0]))
    return [(rank, *site) for rank, site in enumerate(sites, start=1)]


def channels_side_by_side(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    """pressed_at in [$__fromTime, $__toTime) (whole seconds), per department and channel."""
    presses = [
        p
        for p in _counted(stored)
        if _seconds(ctx.start) <= p["pressed_at"].timestamp() < _seconds(ctx.end)
    ]
    groups = _grouped(presses, lambda p: (p["department_id"], p["channel"]))
    totals: Counter[str] = Counter()
    for (dep, _), c in groups.items():
        totals[dep] += sum(c)
    return [
        (dep, channel, sum(c), _score(c), sum(c) / totals[dep])
        for (dep, channel), c in sorted(groups.items())
    ]


# -- alerts ----------------------------------------------------------------------------------
def alerts_over_time(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    per: dict[datetime, Counter[str]] = defaultdict(Counter)
    for a in stored.final_alerts():
        if _time_filter(a["at"], ctx):
            per[_bucket(a["at"], ctx)][a["state"]] += 1
    return [(t, c["opened"], c["resolved"]) for t, c in sorted(per.items())]


def _final_actions(stored: Stored) -> list[dict[str, Any]]:
    """One row per action id (a re-delivered action is stored twice, FINAL keeps one)."""
    return list({a["action_id"]: a for a in stored.actions}.values())


def _lifecycle(actions: list[dict[str, Any]], resolved_at: datetime | None) -> tuple[Any, ...]:
    """(acked_by, acked_at, comments, closed_by, closed_at): the earliest ack; the earlier of the
    recovery and a hand close, ties by name."""
    acks = sorted((a["at"], a["by"]) for a in actions if a["action"] == "ack")
    closings = sorted((a["at"], a["by"]) for a in actions if a["action"] == "close")
    if resolved_at is not None:
        closings = sorted([*closings, (resolved_at, "recovered")])
    acked_at, acked_by = acks[0] if acks else (None, None)
    closed_at, closed_by = closings[0] if closings else (None, None)
    comments = sum(1 for a in actions if a["comment"] is not None)
    return acked_by, acked_at, comments, closed_by, closed_at


def alert_list(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    alerts = stored.final_alerts()
    opened = {a["alert_id"]: a for a in alerts if a["state"] == "opened"}
    resolved = {a["alert_id"]: a for a in alerts if a["state"] == "resolved"}
    actions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for action in _final_actions(stored):
        actions[action["alert_id"]].append(action)
    rows = []
    for alert_id, a in opened.items():
        if not _time_filter_ms(a["at"], ctx):
            continue
        end = resolved[alert_id]["at"] if alert_id in resolved else None
        rows.append(
            (
                alert_id,
                a["kind"],
                a["scope"],
                a["scope_id"],
                a["department_id"],
                a["at"],
                end,
                a["score"],
                a["threshold"],
                *_lifecycle(actions[alert_id], end),
            )
        )
    return sorted(rows, key=lambda r: (r[5], r[0]))


# -- filter / misuse -------------------------------------------------------------------------
def _judgements(stored: Stored) -> list[dict[str, Any]]:
    """Each (event, verdict) pair once: a re-sent press may be counted and a duplicate."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for p in stored.presses:
        seen.setdefault((p["event_id"], p["verdict"]), p)
    return list(seen.values())


def filtered_share_by_device(
    stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]
) -> list[Row]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for p in _judgements(stored):
        if _in_hours(p, ctx):
            per[p["device_id"]]["judged"] += 1
            per[p["device_id"]]["filtered"] += p["verdict"] != "counted"
    rows = [(d, c["judged"], c["filtered"], c["filtered"] / c["judged"]) for d, c in per.items()]
    return sorted(rows, key=lambda r: (-r[3], r[0]))


def verdicts_by_device(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    counts = Counter(
        (p["device_id"], p["verdict"]) for p in _judgements(stored) if _in_hours(p, ctx)
    )
    return [(d, v, n) for (d, v), n in sorted(counts.items())]


def filtered_by_verdict(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    step_ms = max(ctx.interval // timedelta(milliseconds=1), 1)
    events: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    for p in stored.presses:
        if p["verdict"] != "counted" and _time_filter_ms(p["pressed_at"], ctx):
            ms = round(p["pressed_at"].timestamp() * 1000)
            slot = datetime.fromtimestamp(ms // step_ms * step_ms / 1000, UTC)
            events[(slot, p["verdict"])].add(p["event_id"])
    return [(t, v, len(ids)) for (t, v), ids in sorted(events.items())]


def open_suspects(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    """The latest row of each period (a decision outranks every open row), kept when open."""
    latest: dict[str, dict[str, Any]] = {}
    for row in stored.reviews:
        rank = (row["state"] != "open", row["updated_at"])
        kept = latest.get(row["id"])
        if kept is None or rank > (kept["state"] != "open", kept["updated_at"]):
            latest[row["id"]] = row
    keys = ("id", "device_id", "site_id", "period_from", "period_to", "pattern", "presses",
            "evidence", "found_at")  # fmt: skip
    rows = [tuple(r[k] for k in keys) for r in latest.values() if r["state"] == "open"]
    return sorted(rows, key=lambda r: (r[3], r[1], r[0]))


# -- employee mood ---------------------------------------------------------------------------
def employee_daily(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    days: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    for p in _counted(stored, "employee"):
        local = p["pressed_at"].astimezone(ZONE)
        days[local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)].append(p)
    rows = []
    for start, presses in sorted(days.items()):
        local = start.astimezone(ZONE)
        end = (local.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=ZONE).astimezone(UTC)
        if end > ctx.start and start < ctx.end:
            counts = _buttons(presses)
            rows.append((start, _score(counts), sum(counts)))
    return rows


def employee_per_hour(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    presses = [p for p in _counted(stored, "employee") if _in_hours(p, ctx)]
    groups = _grouped(presses, lambda p: _hour(p["pressed_at"]))
    return [(hour, _score(c), sum(c)) for hour, c in sorted(groups.items())]


def employee_by_site(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    first, last = ctx.start.astimezone(UTC).date(), ctx.end.astimezone(UTC).date()
    presses = [
        p
        for p in stored.final_presses()
        if p["verdict"] == "counted"
        and p["question_kind"] == "employee"
        and first <= p["pressed_at"].date() <= last
        and _time_filter(p["pressed_at"], ctx)
    ]
    groups = _grouped(presses, lambda p: p["site_id"])
    return [(site, sum(c), _score(c)) for site, c in sorted(groups.items())]


def reasons_by_department(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    """Counted presses with a reason, per reason, whose UTC hour starts in $__timeFilter."""
    counts: dict[str, int] = defaultdict(int)
    for p in stored.final_presses():
        if (
            p["verdict"] == "counted"
            and p["reason"] is not None
            and p["department_id"] is not None
            and _selected(p["department_id"], sel.get("department"))
            and _time_filter(_hour(p["pressed_at"]), ctx)
        ):
            counts[p["reason"]] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# -- service standards: the Python rule over counts recomputed from the stored presses ---------
def _range_days(ctx: QueryContext) -> tuple[date, date]:
    """The panel's city days: the day of $__fromTime to the day of the second before $__toTime."""
    first = datetime.fromtimestamp(_seconds(ctx.start), ZONE).date()
    last = datetime.fromtimestamp(_seconds(ctx.end) - 1, ZONE).date()
    return first, last


def _standard_items(
    stored: Stored, first: date, last: date, sel: Mapping[str, Value], granularity: str
) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str, date], list[int]] = {}
    for p in _counted(stored):
        day = p["pressed_at"].astimezone(ZONE).date()
        if first <= day <= last:
            key = (p["site_id"], p["question_id"] or "", day)
            counts.setdefault(key, [0, 0, 0, 0])[p["button"] - 1] += 1
    catalogue = stored.catalogue
    owner = {(s.scope, s.id): department_of(catalogue, s) for s in catalogue.standards}
    items = attainment(
        catalogue,
        {key: (c[0], c[1], c[2], c[3]) for key, c in counts.items()},
        first=first,
        end=last + timedelta(days=1),
        granularity="month" if granularity == "month" else "day",
    )
    return [i for i in items if _selected(owner[(i["scope"], i["id"])], sel.get("department"))]


def _month_rows(items: list[dict[str, Any]]) -> list[Row]:
    return [
        (i["scope"], i["id"], i["question"], i["period"], i["status"], i["score"],
         i["responses"], i["target_score"], i["min_responses_per_day"], i["days_met"],
         i["days_missed"], i["days_too_few"])
        for i in items
    ]  # fmt: skip


def standards_this_month(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    _, last = _range_days(ctx)
    return _month_rows(_standard_items(stored, last.replace(day=1), last, sel, "month"))


def standards_by_month(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    return _month_rows(_standard_items(stored, *_range_days(ctx), sel, "month"))


def standards_per_day(stored: Stored, ctx: QueryContext, sel: Mapping[str, Value]) -> list[Row]:
    items = _standard_items(stored, *_range_days(ctx), sel, "day")
    items.sort(key=lambda i: (i["period"], i["scope"], i["id"], i["question"] or ""))
    return [
        (
            datetime.combine(date.fromisoformat(i["period"]), time(0), ZONE).astimezone(UTC),
            f"{i['scope']} {i['id']}" + (f" · {i['question']}" if i["question"] else ""),
            i["score"],
            i["target_score"],
        )
        for i in items
    ]


ORACLES: dict[tuple[str, str], Oracle] = {
    (
        "civicpulse-city-overview",
        "Citizen score: this hour vs yesterday vs 4 weeks ago",
    ): city_score_comparison,
    ("civicpulse-city-overview", "Presses per minute"): presses_per_minute,
    ("civicpulse-city-overview", "Share of presses filtered"): filtered_share,
    ("civicpulse-city-overview", "Open alerts"): open_alert_count,
    ("civicpulse-city-overview", "Open alerts (list)"): open_alerts,
    ("civicpulse-department", "Score per hour"): department_score_per_hour,
    ("civicpulse-department", "Presses per button"): department_buttons,
    ("civicpulse-department", "Sites"): department_sites,
    ("civicpulse-department", "Questions"): department_questions,
    ("civicpulse-department", "Follow-up reasons"): reasons_by_department,
    ("civicpulse-department", "Service standards this month"): standards_this_month,
    ("civicpulse-department", "Service standards per day"): standards_per_day,
    ("civicpulse-department", "Service standards by month"): standards_by_month,
    ("civicpulse-site", "Desks"): site_desks,
    ("civicpulse-site", "Rolling 15-minute score"): site_score_15m,
    ("civicpulse-heatmap", "Score by weekday and hour"): heatmap_grid,
    ("civicpulse-ranking", "Sites by fair score"): site_ranking,
    ("civicpulse-ranking", "Channels side by side"): channels_side_by_side,
    ("civicpulse-alerts", "Alerts opened and resolved"): alerts_over_time,
    ("civicpulse-alerts", "Alerts"): alert_list,
    ("civicpulse-misuse", "Filtered share per device"): filtered_share_by_device,
    ("civicpulse-misuse", "Verdicts per device"): verdicts_by_device,
    ("civicpulse-misuse", "Filtered presses by reason"): filtered_by_verdict,
    ("civicpulse-misuse", "Open suspect periods"): open_suspects,
    ("civicpulse-employee-mood", "Employee mood per day"): employee_daily,
    ("civicpulse-employee-mood", "Employee mood per hour"): employee_per_hour,
    ("civicpulse-employee-mood", "Employee mood per site"): employee_by_site,
}

VARIABLE_ORACLES: dict[tuple[str, str], Oracle] = {
    ("civicpulse-department", "department"): department_options,
    ("civicpulse-department", "site"): site_options,
    ("civicpulse-department", "question"): question_options,
    ("civicpulse-site", "site"): site_choices,
    ("civicpulse-heatmap", "department"): department_options,
}
