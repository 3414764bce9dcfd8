"""Service standards attainment (contract "Service standards" in DESIGN.md), pure functions.

Input: the catalogue's standards and counted citizen presses per city day, site and question
(``DayCounts``: confirmed misuse already left out, as every figure reads them, see
:func:`civicpulse.analytics.standards_read.day_counts`). Output: one item per standard target and
city
day (``granularity=day``) or calendar month (``month``), the contract's fields plus ``question``
(which standard of the scope the item measures: a department may have one for every question and
one for a single question).

Rules, exactly as the contract: the entry with the latest ``from`` on or before a day applies;
``question`` null counts every citizen press of the scope (presses with no question included),
else only that question's; a day is ``met`` (responses >= minimum and score >= target),
``missed`` (enough responses, score below) or ``too_few``. A day with no response has no score,
so it is ``too_few`` even with a minimum of 0. A month is ``met`` when every day with enough
responses met the target, ``missed`` when one did not, ``too_few`` when no day had enough; its
score and responses sum the days of the month inside the asked range, and its target is the one
of its last such day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from civicpulse.analytics.queries import score_of
from civicpulse.schemas.catalogue import Catalogue, Standard

__all__ = [
    "DayCounts",
    "StandardDay",
    "Status",
    "applicable",
    "attainment",
    "day_status",
    "days_of",
    "department_of",
    "month_items",
    "period_status",
    "sites_of",
]

Status = Literal["met", "missed", "too_few"]
#: (site_id, question_id or "" for a press with no question, city day) -> counts n1..n4
DayCounts = Mapping[tuple[str, str, date], tuple[int, int, int, int]]


@dataclass(frozen=True)
class StandardDay:
    """One city day of one standard target: the entry that applied and the day's counts."""

    standard: Standard
    day: date
    counts: tuple[int, int, int, int]


def days_of(first: date, end: date) -> list[date]:
    """City days ``first`` .. ``end`` (exclusive)."""
    return [first + timedelta(days=i) for i in range((end - first).days)]


def applicable(entries: Iterable[Standard], day: date) -> Standard | None:
    """The entry with the latest ``from`` on or before ``day`` (entries of one target)."""
    current = [s for s in entries if s.valid_from <= day]
    return max(current, key=lambda s: s.valid_from) if current else None


def day_status(responses: int, score: float | None, standard: Standard) -> Status:
    if score is None or responses < standard.min_responses_per_day:
        return "too_few"
    return "met" if score >= standard.target_score else "missed"


def period_status(statuses: Sequence[Status]) -> Status:
    """A month's (or quarter's) status from its days': ``met`` when every day with enough
    responses met the target, ``missed`` when one did not, ``too_few`` when none had enough."""
    return "missed" if "missed" in statuses else "met" if "met" in statuses else "too_few"


def sites_of(catalogue: Catalogue, standard: Standard) -> set[str]:
    """The catalogue sites whose presses a standard counts: its site, or its department's."""
    if standard.scope == "site":
        return {standard.id}
    return {s.site_id for s in catalogue.sites if s.department_id == standard.id}


def department_of(catalogue: Catalogue, standard: Standard) -> str | None:
    """The department a standard belongs to: its own, or its site's (None: unknown site)."""
    if standard.scope == "department":
        return standard.id
    return next((s.department_id for s in catalogue.sites if s.site_id == standard.id), None)


def _counts_of(
    cells: Sequence[tuple[str, str, tuple[int, int, int, int]]],
    sites: set[str],
    question: str | None,
) -> tuple[int, int, int, int]:
    total = [0, 0, 0, 0]
    for site, asked, cell in cells:
        if site in sites and (question is None or asked == question):
            for i in range(4):
                total[i] += cell[i]
    return (total[0], total[1], total[2], total[3])


def _item(standard: Standard, period: str, counts: tuple[int, int, int, int]) -> dict[str, Any]:
    return {
        "scope": standard.scope,
        "id": standard.id,
        "question": standard.question,
        "period": period,
        "score": score_of(*counts),
        "responses": sum(counts),
        "target_score": standard.target_score,
        "min_responses_per_day": standard.min_responses_per_day,
    }


def _days(
    catalogue: Catalogue, counts: DayCounts, days: Sequence[date], department: str
) -> dict[tuple[str, str, str | None], list[StandardDay]]:
    targets: dict[tuple[str, str, str | None], list[Standard]] = {}
    for standard in catalogue.standards:
        if department and department_of(catalogue, standard) != department:
            continue
        targets.setdefault(standard.target_key, []).append(standard)
    by_day: dict[date, list[tuple[str, str, tuple[int, int, int, int]]]] = {}
    for (site, question, day), cell in counts.items():
        by_day.setdefault(day, []).append((site, question, cell))
    out: dict[tuple[str, str, str | None], list[StandardDay]] = {}
    for key in sorted(targets, key=lambda k: (k[0], k[1], k[2] or "")):
        for day in days:
            rule = applicable(targets[key], day)
            if rule is not None:
                cell = _counts_of(by_day.get(day, []), sites_of(catalogue, rule), rule.question)
                out.setdefault(key, []).append(StandardDay(rule, day, cell))
    return out


def month_items(days: Sequence[StandardDay]) -> list[dict[str, Any]]:
    """One item per calendar month of the days (days of one target, in order)."""
    months: dict[str, list[StandardDay]] = {}
    for entry in days:
        months.setdefault(f"{entry.day:%Y-%m}", []).append(entry)
    items = []
    for period, entries in months.items():
        statuses = [day_status(sum(e.counts), score_of(*e.counts), e.standard) for e in entries]
        total = tuple(sum(e.counts[i] for e in entries) for i in range(4))
        status = period_status(statuses)
        items.append(
            {
                **_item(entries[-1].standard, period, (total[0], total[1], total[2], total[3])),
                "status": status,
                "days_met": statuses.count("met"),
                "days_missed": statuses.count("missed"),
                "days_too_few": statuses.count("too_few"),
            }
        )
    return items


def attainment(
    catalogue: Catalogue,
    counts: DayCounts,
    *,
    first: date,
    end: date,
    granularity: Literal["day", "month"] = "day",
    department: str = "",
) -> list[dict[str, Any]]:
    """Items of every standard (of ``department``'s scopes when given) over ``first`` .. ``end``
    (exclusive), ordered by scope, id, question ("" first), period."""
    items: list[dict[str, Any]] = []
    for entries in _days(catalogue, counts, days_of(first, end), department).values():
        if granularity == "month":
            items.extend(month_items(entries))
            continue
        for entry in entries:
            item = _item(entry.standard, entry.day.isoformat(), entry.counts)
            items.append(
                {**item, "status": day_status(item["responses"], item["score"], entry.standard)}
            )
    return items
