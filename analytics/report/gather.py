"""The annual service report: the year's figures (and the previous year's) gathered as plain data.

:func:`collect` reads one calendar year in the city time zone, and the year before it, into a
:class:`ReportData`: citizen scores per city, department, site, channel, month and hour of the
week; employee mood per department; presses the filter set aside per verdict and device; alerts
with their time to resolve; misuse review decisions; service standards per month
(:mod:`civicpulse.analytics.report.standards`, this year only). Every figure keeps its counts
(``n``,
``n1``..``n4``) beside its score, and every entry the previous year's figure and the change.

The figures' SQL is the dashboards' own (:mod:`civicpulse.analytics.queries`: rollups with confirmed
misuse subtracted); the few report-only reads below (channels, alerts, review decisions) are
built from that module's public building blocks. The arithmetic is in
:mod:`civicpulse.analytics.report.figures`; :mod:`civicpulse.analytics.report.html` writes the page
and
embeds this data as JSON (``<script type="application/json" id="report-data">``) so readers and
tests can check every number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from civicpulse.analytics.queries import (
    COUNTS,
    DEPARTMENT_MONTHLY,
    HEATMAP,
    NOT_CONFIRMED_MISUSE,
    SITE_TOTALS,
    VERDICTS_PER_DEVICE,
    figure_sql,
)
from civicpulse.analytics.report.figures import (
    SHRINKAGE_K,
    change,
    counts_of,
    resolve_stats,
    shrunk,
)
from civicpulse.analytics.report.standards import collect_channels, collect_standards

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from civicpulse.schemas.catalogue import Catalogue

__all__ = [
    "SHRINKAGE_K",
    "ReportData",
    "collect",
    "collect_year",
    "render_html",
    "shrunk",
    "year_range",
]

#: called after each step of the work: (what was done, steps done, steps in all)
Progress = Callable[[str, int, int], None]

# Counted citizen (or employee) presses per channel: the rollups carry no channel, so this one
# figure scans the year's presses (a batch job, once a year).
CHANNELS = """
SELECT CAST(channel, 'String') AS channel_name, @COUNTS
FROM presses FINAL
WHERE verdict = 'counted' AND site_id IS NOT NULL AND department_id IS NOT NULL
  AND ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen') = {kind:String}
  AND pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
  AND @NOT_MISUSE
GROUP BY channel_name ORDER BY channel_name
""".replace("@COUNTS", COUNTS["raw"]).replace("@NOT_MISUSE", NOT_CONFIRMED_MISUSE)
# Low-score alerts (recognitions and silent devices are other kinds of alert).
ALERTS_OPENED = """
SELECT toString(alert_id) AS id, CAST(scope, 'String'), scope_id, department_id, score, n,
       threshold, at
FROM alerts FINAL
WHERE state = 'opened' AND kind = 'low_score'
  AND at >= {start:DateTime64(3, 'UTC')} AND at < {end:DateTime64(3, 'UTC')}
ORDER BY at, id
"""
# Resolutions of the alerts opened in the range, whenever they came (a December alert may
# resolve in January).
ALERTS_RESOLVED = """
SELECT toString(alert_id), min(at)
FROM alerts FINAL
WHERE state = 'resolved' AND alert_id IN (
    SELECT alert_id FROM alerts
    WHERE state = 'opened' AND kind = 'low_score'
      AND at >= {start:DateTime64(3, 'UTC')} AND at < {end:DateTime64(3, 'UTC')})
GROUP BY alert_id
"""
REVIEWS = """
SELECT CAST(state, 'String') AS state_name, count(), sum(presses)
FROM misuse_reviews FINAL
WHERE period_from >= {start:DateTime64(3, 'UTC')} AND period_from < {end:DateTime64(3, 'UTC')}
GROUP BY state_name ORDER BY state_name
"""


@dataclass
class ReportData:
    """Everything the report shows, as plain data (JSON-ready with ``dataclasses.asdict``)."""

    year: int
    timezone: str
    current: dict[str, Any]
    previous: dict[str, Any] | None = None
    shrinkage_k: int = SHRINKAGE_K
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


def year_range(year: int, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)


def _names(catalogue: Catalogue | None) -> dict[str, str]:
    """Department and site ids -> catalogue names (ids are unique across both in a catalogue)."""
    if catalogue is None:
        return {}
    names = {d.department_id: d.name for d in catalogue.departments}
    names.update({s.site_id: s.name for s in catalogue.sites})
    return names


def _add(acc: dict[str, list[int]], key: str, counts: Any) -> None:
    slot = acc.setdefault(key, [0, 0, 0, 0])
    for i, value in enumerate(counts):
        slot[i] += int(value)


class _Reader:
    """Runs the year's queries with its bound parameters."""

    def __init__(self, client: Client, year: int, tz: str) -> None:
        self.client, self.tz = client, tz
        self.start, self.end = year_range(year, tz)

    def rows(self, sql: str, kind: str = "citizen") -> list[tuple[Any, ...]]:
        params = {
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
            "kind": kind,
            "department": "",
            "site": "",
        }
        return [tuple(r) for r in self.client.query(sql, parameters=params).result_rows]

    def figure(self, figures: dict[Any, str], kind: str = "citizen") -> list[tuple[Any, ...]]:
        return self.rows(figure_sql(figures, self.tz, self.start, self.end), kind)


def _scores(reader: _Reader, name: Callable[[str], str]) -> dict[str, Any]:
    """City, departments and sites (fair-ranked), citizen presses."""
    sites: dict[str, list[int]] = {}
    site_department: dict[str, str] = {}
    departments: dict[str, list[int]] = {}
    for dep, site, *n in reader.figure(SITE_TOTALS):
        _add(sites, site, n)
        _add(departments, dep, n)
        site_department[site] = dep
    city = counts_of(*(sum(c[i] for c in sites.values()) for i in range(4)))
    city_mean = city["score"] or 0.0
    ranked: list[dict[str, Any]] = []
    for site, c in sites.items():
        counts = counts_of(*c)
        fair = shrunk(counts["n"], counts["score"], city_mean)
        dep = site_department[site]
        ranked.append(
            {"id": site, "name": name(site), "department_id": dep, "department_name": name(dep)}
            | counts
            | {"fair_score": fair}
        )
    ranked.sort(key=lambda s: (-s["fair_score"], s["id"]))
    for rank, site in enumerate(ranked, start=1):
        site["rank"] = rank
    deps = [{"id": d, "name": name(d)} | counts_of(*c) for d, c in departments.items()]
    deps.sort(key=lambda d: (-(d["score"] or 0.0), d["id"]))
    return {"city": city, "departments": deps, "sites": ranked}


def _monthly(reader: _Reader) -> list[dict[str, Any]]:
    by_month: dict[str, list[int]] = {}
    for _dep, month, *counts in reader.figure(DEPARTMENT_MONTHLY):
        _add(by_month, str(month.month), counts)
    return [{"month": m} | counts_of(*by_month.get(str(m), [0, 0, 0, 0])) for m in range(1, 13)]


def _heatmap(reader: _Reader) -> list[dict[str, Any]]:
    """Weekday (1 = Monday) x local hour cells."""
    return [
        {"weekday": int(w), "hour": int(h)} | counts_of(*map(int, c))
        for w, h, *c in reader.figure(HEATMAP)
    ]


def _channels(reader: _Reader) -> list[dict[str, Any]]:
    return [{"id": ch} | counts_of(*map(int, c)) for ch, *c in reader.rows(CHANNELS)]


def _reviews(reader: _Reader) -> dict[str, dict[str, int]]:
    """Suspect periods starting in the year, per decision: how many, and their presses."""
    return {s: {"periods": int(k), "presses": int(p)} for s, k, p in reader.rows(REVIEWS)}


def _employee(reader: _Reader, name: Callable[[str], str]) -> list[dict[str, Any]]:
    departments: dict[str, list[int]] = {}
    for dep, _site, *counts in reader.figure(SITE_TOTALS, kind="employee"):
        _add(departments, dep, counts)
    return sorted(
        ({"id": d, "name": name(d)} | counts_of(*c) for d, c in departments.items()),
        key=lambda d: d["id"],
    )


def _filtered(reader: _Reader) -> dict[str, Any]:
    """Judgements per verdict over the year, and per device (the most presses set aside first)."""
    devices: dict[str, dict[str, int]] = {}
    for device, verdict, presses in reader.figure(VERDICTS_PER_DEVICE):
        devices.setdefault(device, {})[verdict] = int(presses)
    verdicts: dict[str, int] = {}
    for by_verdict in devices.values():
        for verdict, presses in by_verdict.items():
            verdicts[verdict] = verdicts.get(verdict, 0) + presses
    total = sum(verdicts.values())
    listed: list[dict[str, Any]] = []
    for device, by_verdict in devices.items():
        presses = sum(by_verdict.values())
        filtered = presses - by_verdict.get("counted", 0)
        listed.append(
            {"id": device, "total": presses, "filtered": filtered, "verdicts": by_verdict}
        )
    listed.sort(key=lambda d: (-d["filtered"], d["id"]))
    return {
        "total": total,
        "filtered": total - verdicts.get("counted", 0),
        "verdicts": dict(sorted(verdicts.items())),
        "devices": listed,
    }


def _alerts(reader: _Reader, name: Callable[[str], str]) -> dict[str, Any]:
    resolved = {ident: at for ident, at in reader.rows(ALERTS_RESOLVED)}
    alerts = []
    for ident, scope, scope_id, dep, score, n, threshold, at in reader.rows(ALERTS_OPENED):
        done = resolved.get(ident)
        alerts.append(
            {
                "id": ident,
                "scope": scope,
                "scope_id": scope_id,
                "name": name(scope_id),
                "department_id": dep,
                "department_name": name(dep),
                "score": score,
                "n": int(n),
                "threshold": threshold,
                "opened_at": at.replace(tzinfo=UTC).isoformat(),
                "resolved_at": None if done is None else done.replace(tzinfo=UTC).isoformat(),
                "resolve_s": None if done is None else (done - at).total_seconds(),
            }
        )
    stats = resolve_stats([a["resolve_s"] for a in alerts])
    return {"list": alerts, "stats": stats.__dict__}


def collect_year(
    client: Client, year: int, tz: str, names: dict[str, str], on_step: Progress | None = None
) -> dict[str, Any]:
    """One calendar year's figures (see the module docstring)."""
    reader = _Reader(client, year, tz)

    def name(ident: str) -> str:
        return names.get(ident, ident)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("scores", lambda: _scores(reader, name)),
        ("monthly", lambda: {"monthly": _monthly(reader)}),
        ("heatmap", lambda: {"heatmap": _heatmap(reader)}),
        ("channels", lambda: {"channels": _channels(reader)}),
        ("employee", lambda: {"employee": _employee(reader, name)}),
        ("filtered", lambda: {"filtered": _filtered(reader)}),
        ("alerts", lambda: {"alerts": _alerts(reader, name)}),
        ("reviews", lambda: {"reviews": _reviews(reader)}),
    ]
    figures: dict[str, Any] = {"year": year}
    for done, (label, step) in enumerate(steps, start=1):
        figures.update(step())
        if on_step is not None:
            on_step(f"{year}: {label}", done, len(steps))
    return figures


def _with_changes(current: dict[str, Any], previous: dict[str, Any]) -> None:
    """Give every entry of ``current`` the previous year's ``n``/score and the change."""

    def link(entries: list[dict[str, Any]], before: list[dict[str, Any]], key: str) -> None:
        old = {e[key]: e for e in before}
        for entry in entries:
            prior = old.get(entry[key])
            if prior is None or prior["n"] == 0:  # not there last year: nothing to compare
                entry["previous"], entry["change"] = None, None
                continue
            entry["previous"] = {"n": prior["n"], "score": prior["score"]}
            entry["change"] = change(entry["score"], prior["score"])

    current["city"]["previous"] = {"n": previous["city"]["n"], "score": previous["city"]["score"]}
    current["city"]["change"] = change(current["city"]["score"], previous["city"]["score"])
    for section in ("departments", "sites", "channels", "employee"):
        link(current[section], previous[section], "id")
    link(current["monthly"], previous["monthly"], "month")


def collect(
    client: Client,
    year: int,
    tz: str,
    catalogue: Catalogue | None = None,
    on_step: Progress | None = None,
) -> ReportData:
    """The year's figures and, where anything was stored then, the previous year's."""
    names = _names(catalogue)
    current = collect_year(client, year, tz, names, on_step)
    current["standards"] = collect_standards(client, year, tz, catalogue)
    current["channels_by_department"] = collect_channels(client, year, tz)
    previous = collect_year(client, year - 1, tz, names, on_step)
    data = ReportData(year=year, timezone=tz, current=current)
    if previous["city"]["n"] > 0 or previous["filtered"]["total"] > 0:
        _with_changes(current, previous)
        data.previous = previous
    return data


def render_html(data: ReportData, lang: str = "pl") -> str:
    """The report page (see :mod:`civicpulse.analytics.report.html`)."""
    from civicpulse.analytics.report.html import render

    return render(data, "en" if lang == "en" else "pl")
