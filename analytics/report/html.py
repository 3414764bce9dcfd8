"""The report's one template: a cover, a one-page summary, then a section per subject, written
in Polish or English from :mod:`civicpulse.analytics.report.texts`, with the data embedded as JSON.

The page is print-first: A4 ``@page`` rules with page numbers in the bottom margin box (Chromium
draws CSS margin boxes when printing), each section starting on a new page, table rows and
small tables never split, table heads repeated on every page a long table spans. The same HTML
prints the same from a browser. Fonts: DejaVu Sans (Debian's ``fonts-dejavu-core``) first, it
carries every Polish letter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from civicpulse.analytics.report.figures import (
    HEATMAP_MIN_CELLS,
    MIN_CELL,
    MIN_RESPONSES,
    best_and_weakest,
    heatmap_readable,
    too_few,
)
from civicpulse.analytics.report.page import STYLE, Page
from civicpulse.analytics.report.standards import channel_gaps_text, standards_section
from civicpulse.analytics.report.svg import Bar, LinePoint, bars, heatmap, monthly_line
from civicpulse.analytics.report.texts import (
    ReportLang,
    change_text,
    duration,
    local_datetime,
    number,
    percent,
)

if TYPE_CHECKING:
    from civicpulse.analytics.report.gather import ReportData

__all__ = ["TOP_DEVICES", "render"]

#: devices listed in the filtered-presses table (the most filtered first)
TOP_DEVICES = 10


def _cover(p: Page) -> str:
    t, city = p.t, p.cur["city"]
    at = local_datetime(datetime.fromisoformat(p.data.generated_at), p.data.timezone, p.lang)
    kpis = [
        (number(city["score"], p.lang), t["kpi_score"]),
        (p.i(city["n"]), t["kpi_responses"]),
    ]
    if p.prev is not None:
        kpis.append((change_text(city.get("change"), p.lang), p.w("kpi_change", year=p.prev_year)))
    kpis.append((p.i(p.cur["alerts"]["stats"]["opened"]), t["kpi_alerts"]))
    boxes = "".join(f'<div class="kpi"><b>{v}</b><span>{label}</span></div>' for v, label in kpis)
    return (
        f'<div class="cover"><h1>{p.w("title", year=p.data.year)}</h1>'
        f"<p>{p.w('period', year=p.data.year, tz=p.data.timezone)}</p>"
        f'<div class="kpis">{boxes}</div><p class="note">{p.w("generated", at=at)}</p></div>'
    )


def _summary(p: Page) -> str:
    lang, cur, year = p.lang, p.cur, p.data.year
    city = cur["city"]
    facts = [p.w("s_city", year=year, score=p.score(city), n=p.i(city["n"]))]
    if p.prev is not None:
        old = p.prev["city"]
        facts.append(
            p.w(
                "s_change",
                prev=p.prev_year,
                score=p.score(old),
                n=p.i(old["n"]),
                change=change_text(city.get("change"), lang),
            )
        )
    else:
        facts.append(p.w("s_no_previous", prev=p.prev_year))
    deps = [d for d in cur["departments"] if d["n"] > 0]
    if deps:
        best, weakest = deps[0], deps[-1]
        facts.append(p.w("s_best", name=best["name"], score=p.score(best), n=p.i(best["n"])))
        if len(deps) > 1:
            facts.append(
                p.w("s_weakest", name=weakest["name"], score=p.score(weakest), n=p.i(weakest["n"]))
            )
    parts = "; ".join(
        f"{p.t.get(c['id'], c['id'])} {p.score(c)} ({p.i(c['n'])})" for c in cur["channels"]
    )
    if parts:
        facts.append(p.w("s_channels", parts=parts))
    stats = cur["alerts"]["stats"]
    if stats["opened"]:
        facts.append(
            p.w(
                "s_alerts",
                opened=p.i(stats["opened"]),
                resolved=p.i(stats["resolved"]),
                median=duration(stats["median_s"], lang),
                longest=duration(stats["longest_s"], lang),
            )
        )
        if stats["still_open"]:
            facts.append(p.w("s_alerts_open", n=p.i(stats["still_open"])))
    else:
        facts.append(p.w("s_no_alerts", year=year))
    filtered = cur["filtered"]
    facts.append(
        p.w(
            "s_filtered",
            filtered=p.i(filtered["filtered"]),
            total=p.i(filtered["total"]),
            share=percent(filtered["filtered"], filtered["total"], lang),
        )
    )
    reviews = cur["reviews"]

    def periods(state: str) -> str:
        return p.i(reviews.get(state, {}).get("periods", 0))

    facts.append(
        p.w(
            "s_reviews",
            confirmed=periods("confirmed"),
            dismissed=periods("dismissed"),
            open=periods("open"),
            presses=p.i(filtered["verdicts"].get("misuse", 0)),
        )
    )
    items = "".join(f"<li>{f}</li>" for f in facts)
    return (
        f'<section><h2>{p.w("summary")}</h2><ul class="facts">{items}</ul>'
        + _department_bars(p)
        + "</section>"
    )


def _department_bars(p: Page) -> str:
    title = p.t["departments_chart" if p.prev else "departments_chart_alone"]
    entries = [
        Bar(d["name"], d["score"], f"{p.score(d)} ({p.i(d['n'])})",
            (d.get("previous") or {}).get("score"))
        for d in p.cur["departments"]
    ]  # fmt: skip
    return f"<figure>{bars(entries, title.format(year=p.data.year, prev=p.prev_year))}</figure>"


def _departments(p: Page) -> str:
    t, deps = p.t, p.cur["departments"]
    months = t["months"].split(",")
    points = [
        LinePoint(m["score"], (m.get("previous") or {}).get("score"), too_few(m["n"]))
        for m in p.cur["monthly"]
    ]
    line = monthly_line(points, months, (str(p.data.year), str(p.prev_year)), t["monthly_chart"])
    headers = [t["department"], t["responses"], t["score"], *p.yoy_headers()]
    month_rows = [
        [months[m["month"] - 1], p.i(m["n"]), p.score(m), *p.yoy(m)] for m in p.cur["monthly"]
    ]
    month_headers = ["", t["responses"], t["score"], *p.yoy_headers()]
    return (
        f"<section><h2>{p.w('departments')}</h2>"
        + p.table(headers, p.scored_rows(deps))
        + f"<figure>{line}</figure>"
        + p.table(month_headers, month_rows)
        + standards_section(p)
        + "</section>"
    )


def _site_rows(p: Page, sites: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            str(s["rank"]),
            s["name"],
            p.i(s["n"]),
            p.score(s),
            number(s["fair_score"], p.lang),
            *p.yoy(s),
        ]
        for s in sites
    ]


def _site_headers(p: Page) -> list[str]:
    t = p.t
    return [t["rank"], t["site"], t["responses"], t["score"], t["fair_score"], *p.yoy_headers()]


def _sites(p: Page) -> str:
    sites = p.cur["sites"]
    best, weakest = best_and_weakest(sites)
    parts = [f"<section><h2>{p.w('sites')}</h2>"]
    if best:
        count = p.w("sites_count", year=p.data.year, n=p.i(len(sites)), k=p.data.shrinkage_k)
        parts.append(f"<p>{count}</p>")
        parts.append(f"<h3>{p.w('best')}</h3>" + p.table(_site_headers(p), _site_rows(p, best), 2))
        parts.append(
            f"<h3>{p.w('weakest')}</h3>" + p.table(_site_headers(p), _site_rows(p, weakest), 2)
        )
    else:
        parts.append(f"<p>{p.w('sites_too_few', n=p.i(len(sites)))}</p>")
    return "".join(parts) + _channels(p) + "</section>"


def _channels(p: Page) -> str:
    t, channels = p.t, p.cur["channels"]
    total = sum(c["n"] for c in channels)
    rows = [
        [
            t.get(c["id"], c["id"]),
            p.i(c["n"]),
            percent(c["n"], total, p.lang),
            p.score(c),
            *p.yoy(c),
        ]
        for c in channels
    ]
    headers = [t["channel"], t["responses"], t["share"], t["score"], *p.yoy_headers()]
    return (
        f"<h3>{p.w('channels')}</h3><p class='note'>{p.w('channels_note')}</p>"
        + p.table(headers, rows)
        + channel_gaps_text(p)
    )


def _time(p: Page) -> str:
    t, cells = p.t, p.cur["heatmap"]
    head = f"<section><h2>{p.w('time')}</h2>"
    if not heatmap_readable(cells):
        total = sum(c["n"] for c in cells)
        note = p.w(
            "heatmap_too_few",
            n=p.i(total),
            cells=p.i(len(cells)),
            need=HEATMAP_MIN_CELLS,
            min=MIN_CELL,
        )
        return head + f"<p>{note}</p>" + _employee(p) + "</section>"
    grid = {(c["weekday"], c["hour"]): (c["score"], c["n"]) for c in cells}
    chart = heatmap(grid, t["weekdays"].split(","), t["hour_axis"], MIN_CELL, t["heatmap_title"])
    note = f"<p class='note'>{p.w('heatmap_note', min=MIN_CELL)}</p>"
    return head + f"<figure>{chart}</figure>" + note + _employee(p) + "</section>"


def _employee(p: Page) -> str:
    t, deps = p.t, p.cur["employee"]
    head = f"<h3>{p.w('employee')}</h3><p class='note'>{p.w('employee_note')}</p>"
    if not deps:
        return head + f"<p>{p.w('employee_none', year=p.data.year)}</p>"
    headers = [t["department"], t["responses"], t["score"], *p.yoy_headers()]
    return head + p.table(headers, p.scored_rows(deps))


def _filtered(p: Page) -> str:
    """Presses per verdict, the most filtered devices, review decisions; beside last year's."""
    t, lang, filtered = p.t, p.lang, p.cur["filtered"]
    old = (p.prev or {}).get("filtered", {})
    total, before = filtered["total"], old.get("verdicts", {})
    last = [f"{t['presses']} {p.prev_year}", f"{t['share']} {p.prev_year}"] if p.prev else []
    rows = [
        [t.get(v, v), p.i(n), percent(n, total, lang)]
        + ([p.i(before.get(v, 0)), percent(before.get(v, 0), old["total"], lang)] if p.prev else [])
        for v, n in filtered["verdicts"].items()
    ]
    headers = [t["verdict"], t["presses"], t["share"], *last]
    old_devices = {d["id"]: d for d in old.get("devices", [])}
    devices = [d for d in filtered["devices"] if d["filtered"]][:TOP_DEVICES]

    def device_row(d: dict[str, Any]) -> list[str]:
        row = [
            d["id"],
            p.i(d["total"]),
            p.i(d["filtered"]),
            percent(d["filtered"], d["total"], lang),
        ]
        if p.prev:
            prior = old_devices.get(d["id"])
            row.append("–" if prior is None else percent(prior["filtered"], prior["total"], lang))
        return row

    last_share = [f"{t['share']} {p.prev_year}"] if p.prev else []
    device_headers = [t["device"], t["judged"], t["filtered_n"], t["share"], *last_share]
    years = [p.cur] + ([p.prev] if p.prev else [])
    review_rows = [
        [t[s], *(f"{p.i(y['reviews'].get(s, {}).get('periods', 0))} "
                 f"({p.i(y['reviews'].get(s, {}).get('presses', 0))})" for y in years)]
        for s in ("confirmed", "dismissed", "open")
    ]  # fmt: skip
    review_headers = [t["state"], *(f"{y['year']}: {t['periods']} ({t['presses']})" for y in years)]
    return (
        f"<section><h2>{p.w('filtered')}</h2>"
        + p.table(headers, rows)
        + f"<p class='note'>{p.w('filtered_note', k=TOP_DEVICES)}</p>"
        + p.table(device_headers, [device_row(d) for d in devices])
        + f"<h3>{p.w('reviews', year=p.data.year)}</h3>"
        + p.table(review_headers, review_rows)
        + "</section>"
    )


def _alert_stats(p: Page) -> str:
    """Opened, resolved, still open, median and longest time to resolve; beside last year's."""
    years = [p.cur] + ([p.prev] if p.prev else [])
    stats = [y["alerts"]["stats"] for y in years]
    rows = [
        [p.t[label], *(p.i(s[key]) for s in stats)]
        for key, label in (
            ("opened", "opened"),
            ("resolved", "resolved"),
            ("still_open", "open_at_end"),
        )
    ] + [
        [p.t[key], *(duration(s[key], p.lang) for s in stats)] for key in ("median_s", "longest_s")
    ]
    return p.table(["", *(str(y["year"]) for y in years)], rows)


def _alerts(p: Page) -> str:
    t, lang, tz = p.t, p.lang, p.data.timezone
    alerts = p.cur["alerts"]["list"]
    head = f"<section><h2>{p.w('alerts')}</h2>" + _alert_stats(p)
    if not alerts:
        return head + f"<p>{p.w('s_no_alerts', year=p.data.year)}</p></section>"

    def when(text: str | None) -> str:
        return (
            t["still_open"]
            if text is None
            else local_datetime(datetime.fromisoformat(text), tz, lang)
        )

    rows = [
        [
            when(a["opened_at"]),
            t.get(f"{a['scope']}_scope", a["scope"]),
            a["name"],
            f"{number(a['score'], lang)} ({p.i(a['n'])})",
            number(a["threshold"], lang),
            when(a["resolved_at"]),
            duration(a["resolve_s"], lang),
        ]
        for a in alerts
    ]
    headers = [
        t["opened_at"],
        t["scope"],
        t["name"],
        t["score"],
        t["threshold"],
        t["resolved_at"],
        t["to_resolve"],
    ]
    note = f"<p class='note'>{p.w('alerts_note')}</p>"
    return head + note + p.table(headers, rows, 3) + "</section>"


def _annex(p: Page) -> str:
    method = p.w("method_text", tz=p.data.timezone, min=MIN_RESPONSES)
    return (
        f"<section><h2>{p.w('annex')}</h2>"
        + p.table(_site_headers(p), _site_rows(p, p.cur["sites"]), 2)
        + f"<h3>{p.w('method')}</h3><p class='note'>{method}</p></section>"
    )


def render(data: ReportData, lang: ReportLang = "pl") -> str:
    """One self-contained HTML page in ``lang`` (charts inline), readable and printable."""
    page = Page(data, lang)
    style = STYLE.replace("@PAGE", page.t["page"]).replace("@OF", page.t["of"])
    payload = json.dumps(asdict(data), default=str).replace("</", "<\\/")
    body = "".join(
        section(page)
        for section in (_cover, _summary, _departments, _sites, _time, _filtered, _alerts, _annex)
    )
    title = page.w("title", year=data.year)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{style}</style></head><body>{body}"
        f'<script type="application/json" id="report-data">{payload}</script></body></html>'
    )
