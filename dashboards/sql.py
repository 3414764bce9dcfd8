"""Every panel's SQL, written for the ClickHouse plugin: its macros and dashboard variables only.

Grafana interpolates these strings itself (no server-side binding exists between a dashboard and
the plugin): time bounds come from the plugin's macros (``$__timeFilter``, ``$__fromTime``, ...),
selections from variables formatted ``${var:sqlstring}`` (each value quoted, quotes doubled), so
no user text reaches the SQL unescaped. :mod:`civicpulse.dashboards.macros` expands them the same
way for the tests, which run every query below on the real engine.

Tables (contract): ``presses`` is read ``FINAL`` (one row per event), ``scores`` and ``alerts``
``FINAL`` (the latest row per window / per alert state); the hourly rollups ``presses_hourly``
and ``press_verdicts_hourly`` (migrations 0004/0005) are summed. The report's figures
(site totals for the fair ranking, the weekday x hour grid, verdicts per device) are not
re-written here: :func:`from_report_sql` rebinds the annual report's own SQL from
:mod:`civicpulse.analytics.queries` to Grafana's macros, so the dashboard and the report agree.
"""

from __future__ import annotations

import re

from civicpulse.analytics.quarterly import SERVICE_CHANNELS
from civicpulse.analytics.queries import (
    HEATMAP,
    HOURLY_NOT_MISUSE,
    INSIDE_CONFIRMED,
    SITE_TOTALS,
    STANDARD_DAYS,
    VERDICTS_PER_DEVICE,
)
from civicpulse.analytics.report.gather import SHRINKAGE_K
from civicpulse.dashboards.exceptions import DashboardError

__all__ = [
    "ALERTS_OVER_TIME",
    "ALERT_LIST",
    "CHANNELS_SIDE_BY_SIDE",
    "CITY_SCORE_COMPARISON",
    "DEPARTMENT_BUTTONS",
    "DEPARTMENT_OPTIONS",
    "DEPARTMENT_QUESTIONS",
    "DEPARTMENT_SCORE_PER_HOUR",
    "DEPARTMENT_SITES",
    "EMPLOYEE_BY_SITE",
    "EMPLOYEE_DAILY",
    "EMPLOYEE_PER_HOUR",
    "FILTERED_BY_VERDICT_OVER_TIME",
    "FILTERED_SHARE",
    "FILTERED_SHARE_BY_DEVICE",
    "HEATMAP_GRID",
    "OPEN_ALERTS",
    "OPEN_ALERT_COUNT",
    "OPEN_SUSPECTS",
    "PRESSES_PER_MINUTE",
    "QUESTION_OPTIONS",
    "REASONS_BY_DEPARTMENT",
    "SITE_CHOICES",
    "SITE_DESKS",
    "SITE_OPTIONS",
    "SITE_RANKING",
    "SITE_SCORE_15M",
    "STANDARDS_BY_MONTH",
    "STANDARDS_PER_DAY",
    "STANDARDS_THIS_MONTH",
    "VERDICTS_BY_DEVICE",
    "from_report_sql",
]

_BINDING = re.compile(r"\{(\w+):[^{}]+\}")


def from_report_sql(sql: str, **expressions: str) -> str:
    """The report's SQL with each server-side binding ``{name:Type}`` replaced by a Grafana
    expression (a macro, a formatted variable or a constant literal).

    Every binding must be given and every expression used, so a change to the report's SQL
    fails the build instead of shipping a panel with an unbound parameter.
    """
    used: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in expressions:
            raise DashboardError(f"report SQL binds {{{name}}}: give it a Grafana expression")
        used.add(name)
        return expressions[name]

    bound = _BINDING.sub(replace, sql)
    unused = set(expressions) - used
    if unused:
        raise DashboardError(f"report SQL has no binding for {sorted(unused)}")
    return bound


# -- shared fragments ------------------------------------------------------------------------
_FINAL = "SETTINGS do_not_merge_across_partitions_select_final = 1"
# the contract's score over summed rollup counts (civicpulse_score: migration 0010)
_ROLLUP_SCORE = "civicpulse_score(sum(n1), sum(n2), sum(n3), sum(n4))"
_ROLLUP_HOURS = "hour >= $__fromTime AND hour < $__toTime"
_KIND = "ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen')"
_DEPARTMENT = "$__conditionalAll(department_id IN (${department:sqlstring}), $department)"
_SITE = "$__conditionalAll(site_id IN (${site:sqlstring}), $site)"
_QUESTION = "$__conditionalAll(question_id IN (${question:sqlstring}), $question)"
_SELECTION = f"{_DEPARTMENT} AND {_SITE} AND {_QUESTION}"
_TZ = "${tz:sqlstring}"


def _report_figure(sql: str, department: str, tz: str | None = None) -> str:
    """A report figure over citizen presses in the panel's range (whole UTC hours)."""
    bindings = {"start": "$__fromTime", "end": "$__toTime", "kind": "'citizen'"}
    bindings |= {"department": department, "site": "''"}
    return from_report_sql(sql, **bindings, **({"tz": tz} if tz else {}))


_FRAGMENTS: dict[str, str] = {
    "@FINAL": _FINAL,
    "@SCORE": _ROLLUP_SCORE,
    "@HOURS": _ROLLUP_HOURS,
    "@KIND": _KIND,
    "@DEPARTMENT": _DEPARTMENT,
    "@SITE_TOTALS": _report_figure(SITE_TOTALS["rollup"], department="''"),
    "@SITE": _SITE,
    "@SELECTION": _SELECTION,
    "@TZ": _TZ,
    "@K": str(SHRINKAGE_K),
    # presses_hourly without confirmed misuse (the report's rollup-subtract form, docs/review.md)
    "@HOURLY": "(" + from_report_sql(HOURLY_NOT_MISUSE, start="$__fromTime", end="$__toTime") + ")",
    # a press (device_id, pressed_at) inside a confirmed misuse period of its device
    "@INSIDE": INSIDE_CONFIRMED,
    # the department variable's custom All value is '' (the report's "every department")
    "@HEATMAP": _report_figure(HEATMAP["rollup"], department="${department:sqlstring}", tz=_TZ),
}


def _compose(template: str) -> str:
    """Panel SQL from this module's constant fragments (no value ever comes from a user here:
    selections reach ClickHouse through Grafana's escaped ``${var:sqlstring}``)."""
    for name, fragment in _FRAGMENTS.items():
        template = template.replace(name, fragment)
    return template


# -- follow-up reasons (the stream's reasons processor, docs/processors.md) ----------------------
# Running counts per (department, hour, reason, source partition): FINAL keeps the highest n
# (the latest count) per key, the partitions are summed.
REASONS_BY_DEPARTMENT = _compose(
    """
SELECT reason, sum(n) AS presses
FROM reasons FINAL
WHERE $__timeFilter(hour_start) AND @DEPARTMENT
GROUP BY reason
ORDER BY presses DESC, reason
@FINAL
"""
)


# -- city overview -----------------------------------------------------------------------------
# The latest closed city hour before the range's end, the same local hour one day and four weeks
# (the same weekday) earlier; addDays in the city zone keeps the wall-clock hour across DST.
CITY_SCORE_COMPARISON = _compose(
    """
WITH (
    SELECT max(window_start) FROM scores FINAL
    WHERE scope = 'city' AND kind = 'citizen' AND `window` = '1h' AND window_end <= $__toTime
) AS this_hour
SELECT
    this_hour AS hour_start,
    anyIf(score, window_start = this_hour) AS score_this_hour,
    anyIf(score, window_start = addDays(toTimeZone(this_hour, @TZ), -1)) AS score_yesterday,
    anyIf(score, window_start = addDays(toTimeZone(this_hour, @TZ), -28)) AS score_4_weeks_ago
FROM scores FINAL
WHERE scope = 'city' AND kind = 'citizen' AND `window` = '1h'
  AND window_start >= addDays(toTimeZone(this_hour, @TZ), -28)
"""
)

PRESSES_PER_MINUTE = _compose(
    """
SELECT $__timeInterval(pressed_at) AS time,
       count() * 60 / $__interval_s AS all_presses,
       countIf(verdict = 'counted' AND NOT @INSIDE) * 60 / $__interval_s AS counted_presses
FROM presses FINAL
WHERE $__timeFilter(pressed_at)
GROUP BY time
ORDER BY time
@FINAL
"""
)

FILTERED_SHARE = _compose(
    """
SELECT countIf(verdict != 'counted' OR @INSIDE) / count() AS filtered_share
FROM presses FINAL
WHERE $__timeFilter(pressed_at)
@FINAL
"""
)

# Open at the range's end: opened by then, neither resolved nor closed by hand by then (as
# GET /v1/alerts?state=open); a recognition is good news, never open.
OPEN_ALERTS = """
SELECT toString(alert_id) AS alert_id, CAST(scope, 'String') AS scope, scope_id, department_id,
       at AS opened_at, score, n, threshold
FROM alerts FINAL
WHERE state = 'opened' AND at <= $__toTime AND kind != 'recognition'
  AND alert_id NOT IN (
      SELECT alert_id FROM alerts FINAL WHERE state = 'resolved' AND at <= $__toTime
  )
  AND alert_id NOT IN (
      SELECT alert_id FROM alert_actions FINAL WHERE action = 'close' AND at <= $__toTime
  )
ORDER BY opened_at, alert_id
"""

OPEN_ALERT_COUNT = "".join(("SELECT count() AS open_alerts FROM (", OPEN_ALERTS, ")"))

# -- department drill-down ---------------------------------------------------------------------
DEPARTMENT_OPTIONS = """
SELECT DISTINCT department_id FROM presses_hourly WHERE kind = 'citizen' ORDER BY department_id
"""

SITE_OPTIONS = _compose(
    """
SELECT DISTINCT site_id FROM presses_hourly
WHERE kind = 'citizen' AND @DEPARTMENT
ORDER BY site_id
"""
)

QUESTION_OPTIONS = _compose(
    """
SELECT DISTINCT question_id FROM presses_hourly
WHERE kind = 'citizen' AND question_id != '' AND @DEPARTMENT AND @SITE
ORDER BY question_id
"""
)

DEPARTMENT_SCORE_PER_HOUR = _compose(
    """
SELECT hour AS time, @SCORE AS score, sum(n1 + n2 + n3 + n4) AS presses
FROM @HOURLY
WHERE @HOURS AND kind = 'citizen' AND @SELECTION
GROUP BY time
ORDER BY time
"""
)

DEPARTMENT_BUTTONS = _compose(
    """
SELECT sum(n1) AS very_unhappy, sum(n2) AS unhappy, sum(n3) AS happy, sum(n4) AS very_happy
FROM @HOURLY
WHERE @HOURS AND kind = 'citizen' AND @SELECTION
"""
)

DEPARTMENT_SITES = _compose(
    """
SELECT site_id, sum(n1 + n2 + n3 + n4) AS presses, @SCORE AS score,
       (sum(n3) + sum(n4)) / presses AS positive_share
FROM @HOURLY
WHERE @HOURS AND kind = 'citizen' AND @SELECTION
GROUP BY site_id
ORDER BY site_id
"""
)

DEPARTMENT_QUESTIONS = _compose(
    """
SELECT question_id, sum(n1 + n2 + n3 + n4) AS presses, @SCORE AS score,
       (sum(n3) + sum(n4)) / presses AS positive_share
FROM @HOURLY
WHERE @HOURS AND kind = 'citizen' AND question_id != '' AND @SELECTION
GROUP BY question_id
ORDER BY question_id
"""
)

# -- service standards (contract "Service standards"; docs/standards.md) -------------------------
# The standards come from `standards_current` (migration 0011, mirrored from the catalogue by
# analytics/standards_mirror.py) with the department and the sites each one counts; the counts
# per site, question and city day are the API's own figure (analytics.queries.STANDARD_DAYS,
# confirmed misuse left out); the day's and the month's status are the SQL functions of
# migration 0011, the one spelling of analytics/standards.py's rule. Days are whole city days:
# the range's first day (of $__fromTime) to its last (of the moment before $__toTime), every one
# of them judged, a day without presses `too_few`; the entry with the latest `from` on or before
# a day applies. Like the heat map, the counts are the rollup form (whole-hour city zones).
_RANGE_FIRST_DAY = "toDate($__fromTime, @TZ)"
_RANGE_LAST_DAY = "toDate(subtractSeconds($__toTime, 1), @TZ)"


def _standard_days(first: str, last: str) -> str:
    """One row per standard target and city day ``first`` .. ``last`` (SQL Date expressions)."""
    counts = from_report_sql(
        STANDARD_DAYS["rollup"],
        start=f"toDateTime({first}, @TZ)",
        end=f"toDateTime({last} + 1, @TZ)",
        tz="@TZ",
        kind="'citizen'",
        department="''",
        site="''",
    )
    template = """
SELECT s.scope AS scope, s.id AS id, s.question AS question, s.day AS day,
       any(s.target_score) AS day_target, any(s.min_responses_per_day) AS day_minimum,
       sumIf(c.n1, @IN_SCOPE) AS n1, sumIf(c.n2, @IN_SCOPE) AS n2,
       sumIf(c.n3, @IN_SCOPE) AS n3, sumIf(c.n4, @IN_SCOPE) AS n4,
       n1 + n2 + n3 + n4 AS day_responses, civicpulse_score(n1, n2, n3, n4) AS day_score,
       civicpulse_standard_day_status(day_responses, day_score, day_target, day_minimum)
           AS day_status
FROM (
    SELECT scope, id, question, day,
           argMax(target_score, valid_from) AS target_score,
           argMax(min_responses_per_day, valid_from) AS min_responses_per_day,
           argMax(sites, valid_from) AS sites
    FROM standards_current
    CROSS JOIN (
        SELECT arrayJoin(arrayMap(i -> @FIRST + i,
                                  range(toUInt32(greatest(0, dateDiff('day', @FIRST, @LAST) + 1)))))
               AS day
    ) AS days
    WHERE valid_from <= day AND @DEPARTMENT
    GROUP BY scope, id, question, day
) AS s
LEFT JOIN (@COUNTS) AS c ON c.day = s.day
GROUP BY scope, id, question, day
"""
    return _compose(
        template.replace(
            "@IN_SCOPE",
            "has(s.sites, c.site_id) AND (s.question = '' OR c.question_id = s.question)",
        )
        .replace("@COUNTS", counts)
        .replace("@FIRST", first)
        .replace("@LAST", last)
    )


def _standard_months(first: str, last: str) -> str:
    """One row per standard target and calendar month: the contract's month item."""
    return "".join(
        (
            "SELECT scope, id, nullIf(question, '') AS question, "
            "formatDateTime(toStartOfMonth(day), '%Y-%m') AS month, "
            "civicpulse_standard_period_status(groupArray(day_status)) AS status, "
            "civicpulse_score(sum(n1), sum(n2), sum(n3), sum(n4)) AS score, "
            "sum(day_responses) AS responses, argMax(day_target, day) AS target_score, "
            "argMax(day_minimum, day) AS min_responses_per_day, "
            "countIf(day_status = 'met') AS days_met, "
            "countIf(day_status = 'missed') AS days_missed, "
            "countIf(day_status = 'too_few') AS days_too_few FROM (",
            _standard_days(first, last),
            ") GROUP BY scope, id, question, month ORDER BY scope, id, question, month",
        )
    )


STANDARDS_BY_MONTH = _standard_months(_RANGE_FIRST_DAY, _RANGE_LAST_DAY)
# The month of the range's end, from its first day, whatever the range's start.
STANDARDS_THIS_MONTH = _standard_months(f"toStartOfMonth({_RANGE_LAST_DAY})", _RANGE_LAST_DAY)
# The day's score and the target line per standard. Time series format: the plugin turns the
# long frame wide by its string column, a series per standard and line (no status column: a
# second string would split each line by status); the tables give the statuses.
STANDARDS_PER_DAY = "".join(
    (
        "SELECT toDateTime(day, @TZ) AS time, "
        "concat(scope, ' ', id, if(question = '', '', concat(' · ', question))) AS standard, "
        "day_score AS score, day_target AS target_score FROM (",
        _standard_days(_RANGE_FIRST_DAY, _RANGE_LAST_DAY),
        ") ORDER BY time, scope, id, question",
    )
).replace("@TZ", _TZ)


# -- site and desk view ------------------------------------------------------------------------
SITE_CHOICES = "SELECT DISTINCT site_id FROM presses_hourly ORDER BY site_id"

SITE_DESKS = _compose(
    """
SELECT device_id,
       countIf(judged = 'counted' AND kind = 'citizen') AS presses,
       civicpulse_presses_score(button, judged = 'counted' AND kind = 'citizen') AS score,
       countIf(judged != 'counted') / count() AS filtered_share
FROM (
    SELECT device_id, if(verdict = 'counted' AND @INSIDE, 'misuse', CAST(verdict, 'String'))
               AS judged, button, @KIND AS kind
    FROM presses FINAL
    WHERE site_id = ${site:sqlstring} AND $__timeFilter(pressed_at)
    @FINAL
)
GROUP BY device_id
ORDER BY device_id
"""
)

SITE_SCORE_15M = """
SELECT window_end AS time, score, n AS presses
FROM scores FINAL
WHERE scope = 'site' AND scope_id = ${site:sqlstring} AND kind = 'citizen' AND `window` = '15m'
  AND $__timeFilter_ms(window_end)
ORDER BY time
"""

# -- hour-of-day x weekday: the report's own grid ----------------------------------------------
# The department variable's custom All value is '' (the report's "every department").
HEATMAP_GRID = _compose(
    """
SELECT weekday, hour_of_day, n1 + n2 + n3 + n4 AS presses,
       civicpulse_score(n1, n2, n3, n4) AS score
FROM (@HEATMAP)
ORDER BY weekday, hour_of_day
"""
)

# -- fair ranking: the report's site totals and its shrinkage constant -------------------------
SITE_RANKING = _compose(
    """
SELECT row_number() OVER (ORDER BY fair_score DESC, site_id) AS rank,
       site_id, department_id, presses, score, fair_score
FROM (
    SELECT site_id, department_id, n1 + n2 + n3 + n4 AS presses,
           civicpulse_score(n1, n2, n3, n4) AS score,
           (presses * score + @K * city_mean) / (presses + @K) AS fair_score
    FROM (@SITE_TOTALS) AS sites
    CROSS JOIN (
        SELECT @SCORE AS city_mean
        FROM (@SITE_TOTALS)
    ) AS city
)
ORDER BY rank
"""
)

# -- alert timeline ----------------------------------------------------------------------------
# One row per alert opened in the range with its lifecycle (migration 0009): the first ack, the
# number of comments, and how it closed: the earlier of its recovery (`resolved`, closed_by
# 'recovered') and a hand close, ties by name, as GET /v1/alerts tells it.
ALERT_LIST = """
SELECT a.alert_id AS alert_id, a.kind AS kind, a.scope AS scope, a.scope_id AS scope_id,
       a.department_id AS department_id, a.opened_at AS opened_at, a.resolved_at AS resolved_at,
       a.score_at_open AS score_at_open, a.threshold AS threshold,
       x.acked_by AS acked_by, x.acked_at AS acked_at, ifNull(x.comments, 0) AS comments,
       multiIf(a.resolved_at IS NULL AND x.closed_at IS NULL, NULL,
               x.closed_at IS NULL OR (a.resolved_at, 'recovered') <= (x.closed_at, x.closed_by),
               'recovered', x.closed_by) AS closed_by,
       least(ifNull(a.resolved_at, x.closed_at), ifNull(x.closed_at, a.resolved_at)) AS closed_at
FROM (
    SELECT toString(alert_id) AS alert_id, any(CAST(kind, 'String')) AS kind,
           any(CAST(scope, 'String')) AS scope, any(scope_id) AS scope_id,
           any(department_id) AS department_id,
           minIf(at, state = 'opened') AS opened_at,
           if(countIf(state = 'resolved') > 0, maxIf(at, state = 'resolved'), NULL) AS resolved_at,
           anyIf(score, state = 'opened') AS score_at_open,
           anyIf(threshold, state = 'opened') AS threshold
    FROM alerts FINAL
    WHERE alert_id IN (
        SELECT alert_id FROM alerts FINAL WHERE state = 'opened' AND $__timeFilter_ms(at)
    )
    GROUP BY alert_id
) AS a
LEFT JOIN (
    SELECT toString(alert_id) AS alert_id,
           if(countIf(action = 'ack') > 0, argMinIf(`by`, (at, `by`), action = 'ack'), NULL)
               AS acked_by,
           if(countIf(action = 'ack') > 0, minIf(at, action = 'ack'), NULL) AS acked_at,
           countIf(comment IS NOT NULL) AS comments,
           if(countIf(action = 'close') > 0, argMinIf(`by`, (at, `by`), action = 'close'), NULL)
               AS closed_by,
           if(countIf(action = 'close') > 0, minIf(at, action = 'close'), NULL) AS closed_at
    FROM alert_actions FINAL
    GROUP BY alert_id
) AS x ON x.alert_id = a.alert_id
ORDER BY opened_at, alert_id
SETTINGS join_use_nulls = 1
"""

ALERTS_OVER_TIME = """
SELECT $__timeInterval(at) AS time,
       countIf(state = 'opened') AS opened, countIf(state = 'resolved') AS resolved
FROM alerts FINAL
WHERE $__timeFilter(at)
GROUP BY time
ORDER BY time
"""

# -- channels side by side (the API's /v1/scores?by=channel and the report's channel gaps) -------
# The same per department, site and channel counts (counted citizen presses, confirmed misuse
# left out), summed per department and channel; share = of the department's responses.
CHANNELS_SIDE_BY_SIDE = "".join(
    (
        "SELECT department, channel_name AS channel, sum(n1 + n2 + n3 + n4) AS responses, "
        "civicpulse_score(sum(n1), sum(n2), sum(n3), sum(n4)) AS score, "
        "responses / sum(responses) OVER (PARTITION BY department) AS share FROM (",
        from_report_sql(SERVICE_CHANNELS, start="$__fromTime", end="$__toTime"),
        ") GROUP BY department, channel_name ORDER BY department, channel_name",
    )
)

# -- filter / misuse ---------------------------------------------------------------------------
VERDICTS_BY_DEVICE = from_report_sql(
    VERDICTS_PER_DEVICE["rollup"], start="$__fromTime", end="$__toTime"
)

# Over the verdicts per device (confirmed misuse moved from `counted` to `misuse`).
FILTERED_SHARE_BY_DEVICE = "".join(
    (
        "SELECT device_id, sum(presses) AS judged, sumIf(presses, verdict != 'counted') "
        "AS filtered, filtered / judged AS filtered_share FROM (",
        VERDICTS_BY_DEVICE,
        ") GROUP BY device_id ORDER BY filtered_share DESC, device_id",
    )
)

# The reviewers' queue (issue 14): every open suspect period, whatever the dashboard's range
# (an old open period still waits for a decision); decided ones leave the list (FINAL).
OPEN_SUSPECTS = """
SELECT toString(id) AS id, device_id, site_id, period_from, period_to, pattern, presses,
       evidence, found_at
FROM misuse_reviews FINAL
WHERE state = 'open'
ORDER BY period_from, device_id, id
"""

# Each judgement once (a re-sent press may be judged counted once and duplicate once).
FILTERED_BY_VERDICT_OVER_TIME = _compose(
    """
SELECT $__timeInterval_ms(pressed_at) AS time,
       if(presses.verdict = 'counted', 'misuse', CAST(presses.verdict, 'String')) AS verdict,
       uniqExact(event_id) AS presses
FROM presses
WHERE $__timeFilter_ms(pressed_at) AND (presses.verdict != 'counted' OR @INSIDE)
GROUP BY time, verdict
ORDER BY time, verdict
"""
)

# -- employee mood (never mixed into citizen scores) -------------------------------------------
EMPLOYEE_DAILY = """
SELECT window_start AS time, score, n AS presses
FROM scores FINAL
WHERE scope = 'city' AND kind = 'employee' AND `window` = '1d'
  AND window_end > $__fromTime_ms AND window_start < $__toTime_ms
ORDER BY time
"""

EMPLOYEE_PER_HOUR = _compose(
    """
SELECT hour AS time, @SCORE AS score, sum(n1 + n2 + n3 + n4) AS presses
FROM @HOURLY
WHERE @HOURS AND kind = 'employee'
GROUP BY time
ORDER BY time
"""
)

# The date half of $__dateTimeFilter prunes by the table's leading key, toDate(pressed_at).
EMPLOYEE_BY_SITE = _compose(
    """
SELECT site_id, count() AS presses, civicpulse_presses_score(button, true) AS score
FROM presses FINAL
WHERE verdict = 'counted' AND question_kind = 'employee' AND NOT @INSIDE
  AND $__dateTimeFilter(toDate(pressed_at), pressed_at)
GROUP BY site_id
ORDER BY site_id
@FINAL
"""
)
