"""The annual service report: figures from the rollups, rendered to one self-contained HTML file.

:func:`collect` gathers the year's figures (citizen presses, the city's calendar year) as plain
data; :func:`render_html` draws the charts with matplotlib (Agg) as embedded PNGs and embeds the
figures themselves as JSON (``<script type="application/json" id="report-data">``) so readers
and tests can check the numbers against SQL.

Sites and departments appear by their catalogue names (ids where the catalogue has none), and
the page comes in Polish or English (``render_html(data, lang=...)``, words in
:mod:`civicpulse.sink.report_texts`).

Fair ranking: a site's score is shrunk toward the city mean, ``(n * mean + k * city_mean) /
(n + k)`` with ``k = SHRINKAGE_K = 50`` presses: a site with 50 presses sits halfway between its
own mean and the city's, one with 1000 keeps ~95 % of its own. Sites with few presses can then
neither top nor bottom the ranking by luck.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .exceptions import ReportExtraMissingError
from .queries import (
    DEPARTMENT_MONTHLY,
    HEATMAP,
    SITE_TOTALS,
    VERDICTS_PER_DEVICE,
    figure_sql,
    score_of,
)
from .report_texts import REPORT_TEXTS, ReportLang, number

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from civicpulse.schemas.catalogue import Catalogue

__all__ = [
    "SHRINKAGE_K",
    "ReportData",
    "collect",
    "render_html",
    "require_charting",
    "shrunk",
    "year_range",
]

SHRINKAGE_K = 50


@dataclass
class ReportData:
    year: int
    timezone: str
    city: dict[str, Any]
    departments: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    monthly: list[dict[str, Any]] = field(default_factory=list)
    heatmap: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    shrinkage_k: int = SHRINKAGE_K


def year_range(year: int, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)


def shrunk(n: int, mean: float | None, city_mean: float, k: int = SHRINKAGE_K) -> float:
    """Bayesian shrinkage of a mean of ``n`` presses toward ``city_mean``."""
    return (n * (mean or 0.0) + k * city_mean) / (n + k)


def _counts(row: tuple[Any, ...]) -> dict[str, Any]:
    n1, n2, n3, n4 = (int(v) for v in row[-4:])
    return {
        "n": n1 + n2 + n3 + n4,
        "n1": n1,
        "n2": n2,
        "n3": n3,
        "n4": n4,
        "score": score_of(n1, n2, n3, n4),
    }


def _namer(catalogue: Catalogue | None) -> dict[str, str]:
    """Department and site ids -> catalogue names (ids are unique across both in a catalogue)."""
    if catalogue is None:
        return {}
    names = {d.department_id: d.name for d in catalogue.departments}
    names.update({s.site_id: s.name for s in catalogue.sites})
    return names


def collect(client: Client, year: int, tz: str, catalogue: Catalogue | None = None) -> ReportData:
    """The year's figures; with ``catalogue``, every site and department also carries its name."""
    names = _namer(catalogue)

    def name(ident: str) -> str:
        return names.get(ident, ident)

    start, end = year_range(year, tz)
    params = {"start": start, "end": end, "tz": tz, "kind": "citizen", "department": "", "site": ""}

    def rows(figure: dict[Any, str]) -> list[tuple[Any, ...]]:
        sql = figure_sql(figure, tz, start, end)
        return [tuple(r) for r in client.query(sql, parameters=params).result_rows]

    site_rows = rows(SITE_TOTALS)
    totals = [sum(int(r[i]) for r in site_rows) for i in (2, 3, 4, 5)]
    city = _counts(tuple(totals))
    city_mean = city["score"] or 0.0
    data = ReportData(year=year, timezone=tz, city=city)
    departments: dict[str, list[int]] = {}
    for dep, site, *counts in site_rows:
        data.sites.append(
            {
                "site_id": site,
                "name": name(site),
                "department_id": dep,
                "department_name": name(dep),
                **_counts(tuple(counts)),
            }
        )
        acc = departments.setdefault(dep, [0, 0, 0, 0])
        for i, value in enumerate(counts):
            acc[i] += int(value)
    for site in data.sites:
        site["fair_score"] = shrunk(site["n"], site["score"], city_mean)
    data.sites.sort(key=lambda s: -s["fair_score"])
    data.departments = [
        {"department_id": d, "name": name(d), **_counts(tuple(c))} for d, c in departments.items()
    ]
    data.monthly = [
        {"department_id": dep, "name": name(dep), "month": month.isoformat(), **_counts(tuple(c))}
        for dep, month, *c in rows(DEPARTMENT_MONTHLY)
    ]
    data.heatmap = [
        {"weekday": int(w), "hour": int(h), **_counts(tuple(c))} for w, h, *c in rows(HEATMAP)
    ]
    per_device: dict[str, dict[str, int]] = {}
    verdicts = figure_sql(VERDICTS_PER_DEVICE, tz, start, end)
    for device, verdict, presses in client.query(verdicts, parameters=params).result_rows:
        per_device.setdefault(device, {})[verdict] = int(presses)
    for device, by_verdict in sorted(per_device.items()):
        total = sum(by_verdict.values())
        filtered = total - by_verdict.get("counted", 0)
        data.devices.append(
            {
                "device_id": device,
                "total": total,
                "filtered": filtered,
                "filtered_share": filtered / total,
                "verdicts": by_verdict,
            }
        )
    alerts = client.query(
        "SELECT toString(alert_id), CAST(state, 'String'), CAST(scope, 'String'), scope_id, "
        "department_id, score, n, threshold, at FROM alerts FINAL "
        "WHERE at >= {start:DateTime64(3, 'UTC')} AND at < {end:DateTime64(3, 'UTC')} "
        "ORDER BY at, alert_id, state",
        parameters=params,
    ).result_rows
    keys = ("alert_id", "state", "scope", "scope_id", "department_id", "score", "n", "threshold")
    data.alerts = [
        {
            **dict(zip(keys, row[:8], strict=True)),
            "name": name(str(row[3])),
            "at": row[8].replace(tzinfo=UTC).isoformat(),
        }
        for row in alerts
    ]
    return data


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def require_charting() -> None:
    """Fail early, naming the extra, when matplotlib (the ``report`` extra) is not installed.

    The base install leaves matplotlib out: only the report draws charts.
    """
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ReportExtraMissingError(
            "the annual report draws its charts with matplotlib, which is not installed: "
            "pip install 'civicpulse[report]'"
        ) from exc


def _charts(data: ReportData, lang: ReportLang) -> dict[str, str]:
    require_charting()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = REPORT_TEXTS[lang]
    charts: dict[str, str] = {}
    fig, ax = plt.subplots(figsize=(9, 4))
    for dep in sorted({m["department_id"] for m in data.monthly}):
        points = [(m["month"][:7], m["score"]) for m in data.monthly if m["department_id"] == dep]
        label = next(m.get("name", dep) for m in data.monthly if m["department_id"] == dep)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_ylim(0, 100)
    ax.set_ylabel(t["score_axis"])
    ax.set_title(t["monthly_chart"].format(year=data.year))
    ax.legend(loc="lower left", fontsize=8)
    ax.tick_params(axis="x", rotation=45)
    charts["monthly"] = _png(fig)
    plt.close(fig)

    grid = [[float("nan")] * 24 for _ in range(7)]
    for cell in data.heatmap:
        grid[cell["weekday"] - 1][cell["hour"]] = cell["score"]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    image = ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0, vmax=100)
    ax.set_yticks(range(7), t["weekdays"].split(","))
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel(t["hour_axis"].format(tz=data.timezone))
    ax.set_title(t["heatmap_chart"])
    fig.colorbar(image, ax=ax)
    charts["heatmap"] = _png(fig)
    plt.close(fig)
    return charts


def _table(headers: list[str], rows: list[list[Any]], lang: ReportLang) -> str:
    def fmt(value: Any) -> str:
        return number(value, lang) if isinstance(value, float) else html.escape(str(value))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: ReportData, lang: ReportLang = "pl") -> str:
    """One self-contained HTML page (charts inline) in ``lang``, readable in any browser."""
    t = REPORT_TEXTS[lang]
    charts = _charts(data, lang)

    def name(entry: dict[str, Any], key: str, name_key: str = "name") -> str:
        return str(entry.get(name_key) or entry[key])

    site_rows = [
        [
            name(s, "site_id"),
            name(s, "department_id", "department_name"),
            s["n"],
            s["score"],
            s["fair_score"],
        ]
        for s in data.sites
    ]
    site_headers = [t["site"], t["department"], t["presses"], t["score"], t["fair_score"]]
    payload = json.dumps(asdict(data), default=str).replace("</", "<\\/")
    city = t["city"].format(
        score=number(data.city["score"], lang), n=data.city["n"], tz=html.escape(data.timezone)
    )
    alert_rows = [
        [
            a["at"],
            t.get(a["state"], a["state"]),
            t.get(a["scope"], a["scope"]),
            name(a, "scope_id"),
            a["score"],
            a["n"],
            a["threshold"],
        ]
        for a in data.alerts
    ]
    alert_headers = [t["at"], t["state"], t["scope"], t["name"], t["score"], t["presses"]]
    sections = [
        f"<h1>{html.escape(t['title'].format(year=data.year))}</h1>",
        f"<p>{city}</p>",
        f"<h2>{t['departments']}</h2>",
        _table(
            [t["department"], t["presses"], t["score"]],
            [[name(d, "department_id"), d["n"], d["score"]] for d in data.departments],
            lang,
        ),
        f"<h2>{t['monthly']}</h2>",
        f'<img alt="{t["monthly"]}" src="data:image/png;base64,{charts["monthly"]}">',
        f"<h2>{t['heatmap']}</h2>",
        f'<img alt="{t["heatmap"]}" src="data:image/png;base64,{charts["heatmap"]}">',
        f"<h2>{t['best']}</h2><p>{t['fair_note'].format(k=data.shrinkage_k)}</p>",
        _table(site_headers, site_rows[:5], lang),
        f"<h2>{t['attention']}</h2>",
        _table(site_headers, site_rows[::-1][:5], lang),
        f"<h2>{t['filtered']}</h2>",
        _table(
            [t["device"], t["presses"], t["filtered_n"], t["share"]],
            [
                [d["device_id"], d["total"], d["filtered"], 100 * d["filtered_share"]]
                for d in data.devices
            ],
            lang,
        ),
        f"<h2>{t['alerts']}</h2>",
        _table([*alert_headers, t["threshold"]], alert_rows, lang)
        if data.alerts
        else f"<p>{t['no_alerts']}</p>",
    ]
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{max-width:100%}"
    )
    title = html.escape(t["title"].format(year=data.year))
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{style}</style></head><body>"
        + "".join(sections)
        + f'<script type="application/json" id="report-data">{payload}</script></body></html>'
    )
