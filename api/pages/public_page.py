"""The public results pages' data and HTML (pure): per department and month, the score, the
responses and the attainment of its service standard, in plain Polish or English.

Nothing individual leaves here: no device id, no press, no site; only department names and
monthly figures. The page is static HTML (no script), light, with a caption and header cells for
every table, so screen readers read it as a table (checked with axe-core in Chromium).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from civicpulse.schemas.catalogue import Catalogue

__all__ = ["TEXTS", "Lang", "PublicMonth", "months_of", "render_department", "render_index"]

Lang = Literal["pl", "en"]


@dataclass(frozen=True)
class PublicMonth:
    period: str  # YYYY-MM
    score: float | None
    responses: int
    target_score: float | None = None
    min_responses_per_day: int | None = None
    status: str | None = None


TEXTS: dict[Lang, dict[str, str]] = {
    "pl": {
        "title": "Jak mieszkańcy oceniają obsługę w urzędzie",
        "intro": "Po wizycie w urzędzie mieszkańcy naciskają jedną z czterech buźek. Wynik to "
        "średnia ocen w skali od 0 (wszyscy bardzo niezadowoleni) do 100 (wszyscy bardzo "
        "zadowoleni). Pokazujemy tylko liczby zbiorcze za cały miesiąc.",
        "department": "Wydział",
        "month": "Miesiąc",
        "score": "Wynik (0–100)",
        "responses": "Liczba ocen",
        "standard": "Cel wydziału",
        "attained": "Czy cel osiągnięto?",
        "met": "tak",
        "missed": "nie",
        "too_few": "za mało ocen, by ocenić",
        "no_standard": "bez celu",
        "target": "wynik co najmniej {target} przy co najmniej {min} ocenach dziennie",
        "rule": "Cel jest osiągnięty w miesiącu, gdy w każdym dniu z wystarczającą liczbą ocen "
        "wynik był nie niższy niż cel.",
        "latest": "Wydziały w miesiącu {month}",
        "months_of": "{name}: ostatnie miesiące",
        "back": "Wszystkie wydziały",
        "other_lang": "English",
        "no_data": "brak ocen",
    },
    "en": {
        "title": "How residents rate the service at the city hall",
        "intro": "After a visit, residents press one of four faces. The score is the average "
        "rating from 0 (everyone very unhappy) to 100 (everyone very happy). Only totals for "
        "whole months are shown.",
        "department": "Department",
        "month": "Month",
        "score": "Score (0–100)",
        "responses": "Responses",
        "standard": "Department's target",
        "attained": "Target met?",
        "met": "yes",
        "missed": "no",
        "too_few": "too few responses to tell",
        "no_standard": "no target",
        "target": "a score of at least {target} with at least {min} responses a day",
        "rule": "A month meets the target when every day with enough responses scored at least "
        "the target.",
        "latest": "Departments in {month}",
        "months_of": "{name}: recent months",
        "back": "All departments",
        "other_lang": "Polski",
        "no_data": "no responses",
    },
}

_STYLE = (
    "body{font-family:system-ui,'DejaVu Sans',sans-serif;max-width:48rem;margin:1.5rem auto;"
    "padding:0 1rem;color:#1b1b1b;background:#fff;line-height:1.5}"
    "h1{font-size:1.6rem;color:#0b4f8a}table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "caption{text-align:left;font-weight:700;padding:.4rem 0}"
    "th,td{border:1px solid #8a8a8a;padding:.4rem .6rem;text-align:left}"
    "th{background:#e8eef5}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "a{color:#0b4f8a}.note{color:#3d3d3d}"
    # a phone: five columns fit when long words may break and the cells pad less
    "@media (max-width:40rem){body{margin:.8rem auto;padding:0 .5rem}table{font-size:.85rem}"
    "th,td{padding:.3rem .25rem;overflow-wrap:anywhere}}"
)


def months_of(
    monthly: Sequence[tuple[str, str, int, int, int, int]],
    standards: Sequence[Mapping[str, Any]],
) -> dict[str, list[PublicMonth]]:
    """Department -> its months (oldest first) from (department, YYYY-MM, n1..n4) rows and the
    month items of ``/v1/standards`` (department standards for every question only)."""
    from civicpulse.analytics.queries import score_of

    goals = {
        (i["id"], i["period"]): i
        for i in standards
        if i["scope"] == "department" and i["question"] is None
    }
    out: dict[str, list[PublicMonth]] = {}
    for department, period, n1, n2, n3, n4 in sorted(monthly, key=lambda r: (r[0], r[1])):
        goal = goals.get((department, period))
        out.setdefault(department, []).append(
            PublicMonth(
                period,
                score_of(n1, n2, n3, n4),
                n1 + n2 + n3 + n4,
                None if goal is None else float(goal["target_score"]),
                None if goal is None else int(goal["min_responses_per_day"]),
                None if goal is None else str(goal["status"]),
            )
        )
    return out


_MONTHS: dict[Lang, tuple[str, ...]] = {
    "pl": ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień",
           "wrzesień", "październik", "listopad", "grudzień"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def _month(period: str, lang: Lang) -> str:
    """``2026-09`` -> ``wrzesień 2026`` / ``September 2026``."""
    return f"{_MONTHS[lang][int(period[5:7]) - 1]} {period[:4]}"


def _number(value: float, lang: Lang) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "pl" else text


def _score(month: PublicMonth, t: Mapping[str, str], lang: Lang) -> str:
    return t["no_data"] if month.score is None else _number(month.score, lang)


def _attained(month: PublicMonth, t: Mapping[str, str], lang: Lang) -> tuple[str, str]:
    if month.status is None or month.target_score is None:
        return t["no_standard"], "–"
    target = t["target"].format(
        target=_number(month.target_score, lang), min=month.min_responses_per_day
    )
    return target, t[month.status]


def _page(lang: Lang, title: str, body: str, other: str) -> str:
    e = html.escape
    t = TEXTS[lang]
    switch = "en" if lang == "pl" else "pl"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{e(title)}</h1><p>{e(t['intro'])}</p>{body}"
        f'<p class="note">{e(t["rule"])}</p>'
        f'<p><a href="{e(other)}?lang={switch}" lang="{switch}">{e(t["other_lang"])}</a></p>'
        "</main></body></html>"
    )


NUMERIC = ' class="n"'


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows: a header cell (markup) then score and responses (figures), target and attained."""
    e = html.escape
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = ""
    for row in rows:
        cells = [f'<th scope="row">{row[0]}</th>']  # already markup (a link or escaped text)
        cells += [
            f"<td{NUMERIC if j in (1, 2) else ''}>{e(c)}</td>" for j, c in enumerate(row[1:], 1)
        ]
        body += "<tr>" + "".join(cells) + "</tr>"
    return (
        f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def render_index(
    figures: Mapping[str, Sequence[PublicMonth]], catalogue: Catalogue, lang: Lang, month: str
) -> str:
    """``/public``: every department's figures for ``month`` (YYYY-MM), each linking its page."""
    e, t = html.escape, TEXTS[lang]
    rows = []
    for department in catalogue.departments:
        found = [m for m in figures.get(department.department_id, []) if m.period == month]
        current = found[0] if found else PublicMonth(month, None, 0)
        link = (
            f'<a href="/public/{e(department.department_id)}?lang={lang}">{e(department.name)}</a>'
        )
        target, attained = _attained(current, t, lang)
        rows.append([link, _score(current, t, lang), str(current.responses), target, attained])
    headers = [t["department"], t["score"], t["responses"], t["standard"], t["attained"]]
    table = _table(t["latest"].format(month=_month(month, lang)), headers, rows)
    return _page(lang, t["title"], table, "/public")


def render_department(
    months: Sequence[PublicMonth], name: str, department_id: str, lang: Lang
) -> str:
    """``/public/{department}``: its months, newest first."""
    e, t = html.escape, TEXTS[lang]
    rows = []
    for month in reversed(months):
        target, attained = _attained(month, t, lang)
        rows.append(
            [
                e(_month(month.period, lang)),
                _score(month, t, lang),
                str(month.responses),
                target,
                attained,
            ]
        )
    headers = [t["month"], t["score"], t["responses"], t["standard"], t["attained"]]
    back = f'<p><a href="/public?lang={lang}">{e(t["back"])}</a></p>'
    table = _table(t["months_of"].format(name=name), headers, rows)
    return _page(lang, f"{name} · {t['title']}", back + table, f"/public/{department_id}")
