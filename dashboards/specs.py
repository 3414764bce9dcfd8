"""What each dashboard shows, as plain data: the single source for the JSON, the docs and the tests.

A :class:`Board` lists its variables and panels; every :class:`PanelSpec` names the question it
answers and its SQL (from :mod:`civicpulse.dashboards.sql`). :mod:`.render` turns boards into
Grafana JSON with grafana-foundation-sdk; the tests run every panel's SQL and every query
variable's SQL on the real engine and compare the numbers with a recomputation in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from civicpulse.dashboards import sql

__all__ = ["Board", "PanelSpec", "VariableSpec", "boards"]

Viz = Literal["stat", "table", "timeseries", "barchart", "bargauge", "grid"]


@dataclass(frozen=True)
class PanelSpec:
    title: str
    question: str
    sql: str
    viz: Viz
    unit: str | None = None
    width: int = 12
    height: int = 8


@dataclass(frozen=True)
class VariableSpec:
    """A query variable (options from ClickHouse) or, with ``constant``, a hidden constant."""

    name: str
    label: str
    query: str | None = None
    constant: str | None = None
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    panels: tuple[PanelSpec, ...]
    variables: tuple[VariableSpec, ...] = field(default_factory=tuple)
    time_from: str = "now-24h"

    @property
    def all_values(self) -> dict[str, str]:
        return {v.name: v.all_value for v in self.variables if v.all_value is not None}


def _tz(timezone: str) -> VariableSpec:
    return VariableSpec("tz", "City time zone", constant=timezone)


def _city_overview(timezone: str) -> Board:
    return Board(
        uid="civicpulse-city-overview",
        title="civicpulse · City overview",
        description="How is the city doing right now, and against yesterday and last month?",
        variables=(_tz(timezone),),
        panels=(
            PanelSpec(
                "Citizen score: this hour vs yesterday vs 4 weeks ago",
                "Is the city's latest closed hour better or worse than the same local hour "
                "yesterday and on the same weekday four weeks ago?",
                sql.CITY_SCORE_COMPARISON,
                "stat",
                width=24,
                height=6,
            ),
            PanelSpec(
                "Presses per minute",
                "How busy are the terminals and widgets, and how much of it is counted?",
                sql.PRESSES_PER_MINUTE,
                "timeseries",
                unit="short",
            ),
            PanelSpec(
                "Share of presses filtered",
                "Which share of presses did anti-spam leave out of the scores?",
                sql.FILTERED_SHARE,
                "stat",
                unit="percentunit",
                width=6,
            ),
            PanelSpec(
                "Open alerts",
                "How many low-score alerts are open at the end of the range?",
                sql.OPEN_ALERT_COUNT,
                "stat",
                width=6,
            ),
            PanelSpec(
                "Open alerts (list)",
                "Which departments and sites have an open alert, since when, at what score?",
                sql.OPEN_ALERTS,
                "table",
                width=24,
            ),
        ),
    )


_DEPARTMENT_VARS = (
    VariableSpec("department", "Department", sql.DEPARTMENT_OPTIONS, multi=True, include_all=True),
    VariableSpec("site", "Site", sql.SITE_OPTIONS, multi=True, include_all=True),
    VariableSpec("question", "Question", sql.QUESTION_OPTIONS, multi=True, include_all=True),
)


def _department(timezone: str) -> Board:
    return Board(
        uid="civicpulse-department",
        title="civicpulse · Department drill-down",
        description="One department's citizen score by hour, site and question, and its "
        "service standards by day and month.",
        variables=(_tz(timezone), *_DEPARTMENT_VARS),
        panels=(
            PanelSpec(
                "Score per hour",
                "How did the selected department's citizen score move hour by hour?",
                sql.DEPARTMENT_SCORE_PER_HOUR,
                "timeseries",
            ),
            PanelSpec(
                "Presses per button",
                "How are the counted presses spread over the four faces?",
                sql.DEPARTMENT_BUTTONS,
                "bargauge",
            ),
            PanelSpec(
                "Sites",
                "Which of the department's sites pull its score down?",
                sql.DEPARTMENT_SITES,
                "table",
            ),
            PanelSpec(
                "Questions",
                "How does each question score in the selection?",
                sql.DEPARTMENT_QUESTIONS,
                "table",
            ),
            PanelSpec(
                "Follow-up reasons",
                "Which follow-up reasons do the department's counted presses give?",
                sql.REASONS_BY_DEPARTMENT,
                "barchart",
            ),
            PanelSpec(
                "Service standards this month",
                "Did the selected departments' service standards (and their sites') hold this "
                "month so far: met, missed or too few responses, and on how many days?",
                sql.STANDARDS_THIS_MONTH,
                "table",  # beside the reasons: the SDK lays panels out left to right by width
            ),
            PanelSpec(
                "Service standards per day",
                "Which days reached each standard's target (the day's score against the "
                "target line)?",
                sql.STANDARDS_PER_DAY,
                "timeseries",
                width=24,
            ),
            PanelSpec(
                "Service standards by month",
                "Month by month over the range: met, missed or too few responses per standard?",
                sql.STANDARDS_BY_MONTH,
                "table",
                width=24,
            ),
        ),
    )


def _site() -> Board:
    return Board(
        uid="civicpulse-site",
        title="civicpulse · Site and desks",
        description="One site: each desk's score and filtered share, the rolling 15-min score.",
        variables=(VariableSpec("site", "Site", sql.SITE_CHOICES),),
        panels=(
            PanelSpec(
                "Desks",
                "Which desk (terminal or widget) of the site scores low or is filtered often?",
                sql.SITE_DESKS,
                "table",
                width=24,
            ),
            PanelSpec(
                "Rolling 15-minute score",
                "What did the stream's closed 15-minute windows score for this site?",
                sql.SITE_SCORE_15M,
                "timeseries",
                width=24,
            ),
        ),
    )


def _heatmap(timezone: str) -> Board:
    return Board(
        uid="civicpulse-heatmap",
        title="civicpulse · Hour of day x weekday",
        description="When in the week are citizens happy or unhappy (city time)?",
        variables=(
            _tz(timezone),
            # The report's grid SQL reads '' as "every department": the custom All value.
            VariableSpec(
                "department", "Department", sql.DEPARTMENT_OPTIONS, include_all=True, all_value="''"
            ),
        ),
        time_from="now-30d",
        panels=(
            PanelSpec(
                "Score by weekday and hour",
                "At which hours of which weekdays is the citizen score high or low?",
                sql.HEATMAP_GRID,
                "grid",
                width=24,
                height=10,
            ),
        ),
    )


def _ranking() -> Board:
    return Board(
        uid="civicpulse-ranking",
        title="civicpulse · Fair ranking of sites",
        description="Sites ranked by their score shrunk toward the city mean, as in the report.",
        time_from="now-90d",
        panels=(
            PanelSpec(
                "Sites by fair score",
                "Which sites serve citizens best and worst once luck of small numbers is "
                "removed (score shrunk toward the city mean by 50 presses)?",
                sql.SITE_RANKING,
                "table",
                width=24,
                height=12,
            ),
            PanelSpec(
                "Channels side by side",
                "Do citizens rate a department differently at the desk terminal and on the web "
                "widget (responses, score, share of the department's responses)?",
                sql.CHANNELS_SIDE_BY_SIDE,
                "table",
                width=24,
            ),
        ),
    )


def _alerts() -> Board:
    return Board(
        uid="civicpulse-alerts",
        title="civicpulse · Alert timeline",
        description="Every alert (low score, silent device, recognition): when it opened, who "
        "acknowledged it, how many comments, when and how it closed (recovered or by hand).",
        time_from="now-7d",
        panels=(
            PanelSpec(
                "Alerts opened and resolved",
                "When did alerts open and resolve?",
                sql.ALERTS_OVER_TIME,
                "barchart",
                width=24,
            ),
            PanelSpec(
                "Alerts",
                "Which alerts opened in the range, how low was the score, who acknowledged them, "
                "and did they close by recovering or by hand?",
                sql.ALERT_LIST,
                "table",
                width=24,
            ),
        ),
    )


def _misuse() -> Board:
    return Board(
        uid="civicpulse-misuse",
        title="civicpulse · Filtered presses and misuse",
        description="Which devices send presses the filter leaves out, and why.",
        panels=(
            PanelSpec(
                "Filtered share per device",
                "Which devices have the highest share of filtered presses?",
                sql.FILTERED_SHARE_BY_DEVICE,
                "table",
            ),
            PanelSpec(
                "Verdicts per device",
                "For each device, how many presses got each verdict (reason)?",
                sql.VERDICTS_BY_DEVICE,
                "table",
            ),
            PanelSpec(
                "Filtered presses by reason",
                "When do the filter's reasons (burst, repeat, duplicate, ...) fire?",
                sql.FILTERED_BY_VERDICT_OVER_TIME,
                "timeseries",
                width=24,
            ),
            PanelSpec(
                "Open suspect periods",
                "Which suspect periods (staff rating their own desk, one-sided hours, presses "
                "while closed) wait for a reviewer's decision?",
                sql.OPEN_SUSPECTS,
                "table",
                width=24,
            ),
        ),
    )


def _employee() -> Board:
    return Board(
        uid="civicpulse-employee-mood",
        title="civicpulse · Employee mood",
        description="Staff answers to employee questions; never mixed into citizen scores.",
        time_from="now-30d",
        panels=(
            PanelSpec(
                "Employee mood per day",
                "How did staff rate their days (city-wide daily score)?",
                sql.EMPLOYEE_DAILY,
                "timeseries",
            ),
            PanelSpec(
                "Employee mood per hour",
                "At which hours do staff answer, and how?",
                sql.EMPLOYEE_PER_HOUR,
                "timeseries",
            ),
            PanelSpec(
                "Employee mood per site",
                "Which sites' staff feel best and worst?",
                sql.EMPLOYEE_BY_SITE,
                "table",
                width=24,
            ),
        ),
    )


def boards(timezone: str) -> list[Board]:
    """Every dashboard, for a city whose calendar is ``timezone``."""
    return [
        _city_overview(timezone),
        _department(timezone),
        _site(),
        _heatmap(timezone),
        _ranking(),
        _alerts(),
        _misuse(),
        _employee(),
    ]
