"""Every figure's SQL in one place: parameterised with server-side ``{name:Type}`` binding only.

Two families:

* the **score recomputation** of closed windows from the stored presses (``civicpulse verify``):
  the same rules as the stream (``stream/stages/scores/formula.py``,
  ``stream/stages/scores/windows.py``): counted presses
  only, each event once (``FINAL``), a press with no question is citizen feedback left out of the
  question scope, employee-question presses only in ``kind='employee'``; windows 15 min rolling
  hopping by 1 min (a press belongs to 15 of them), the local clock hour and the local calendar
  day in the city time zone (DST-correct: ``toStartOfHour``/``toStartOfDay`` with the zone);
* **dashboard figures** (per site/department per local day and month, hour x weekday heat map,
  verdicts per device), each in a rollup form (reads ``presses_hourly`` /
  ``press_verdicts_hourly``, migrations 0004/0005) and a raw form (scans ``presses FINAL``) that
  must return the same rows; the raw form is the fallback where the rollups cannot serve a zone.

**Confirmed misuse** (DESIGN.md "Misuse review"): a press of a device inside one of that
device's confirmed periods (table ``misuse_reviews``, migration 0007) is misuse everywhere.
:data:`NOT_CONFIRMED_MISUSE` is the one condition every press-reading figure adds (the
recomputation, export, report, query API). The rollups cannot know a decision taken after
their rows were written, so the rollup form of every figure *subtracts* the counted presses
that fall in confirmed periods (a second, small read of ``presses`` pruned to the confirmed
periods' time span; it reads nothing when no period is confirmed) rather than falling back to
the raw scan: the figure stays one SQL statement, which the Grafana panels reuse as they are.

Scores: SQL derives a score only through ``civicpulse_score(n1, n2, n3, n4)`` (migration 0010),
Python through :func:`score_of`, which is the stream's ``Counts.score``; the two are tested equal.

Identifiers never come from users; values always travel as bound parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from civicpulse.stream.stages.scores.formula import Counts

__all__ = [
    "CONFIRMED_COUNTED",
    "CONFIRMED_PERIODS",
    "COUNTED_IN_RANGE",
    "COUNTS",
    "DEPARTMENT_MONTHLY",
    "HEATMAP",
    "HOURLY_NOT_MISUSE",
    "INSIDE_CONFIRMED",
    "NOT_CONFIRMED_MISUSE",
    "RECOMPUTE_SCORES",
    "SITE_DAILY",
    "SITE_TOTALS",
    "STANDARD_DAYS",
    "STORED_EXTENT",
    "STORED_SCORES",
    "VERDICTS_PER_DEVICE",
    "VERIFY_COMPARED",
    "VERIFY_MISMATCHES",
    "Source",
    "figure_sql",
    "positive_share_of",
    "rollups_serve",
    "score_of",
]

Source = Literal["rollup", "raw"]


# Every confirmed period as (device, first press, last press): a scalar subquery, run once per
# statement; periods are few (a reviewer decides each one), so a per-row array test is cheap.
CONFIRMED_PERIODS = """(
    SELECT groupArray((toString(device_id), period_from, period_to))
    FROM misuse_reviews FINAL WHERE state = 'confirmed'
)"""
#: true for a press (columns ``device_id``, ``pressed_at``) inside a confirmed period of its device
INSIDE_CONFIRMED = (
    "arrayExists(p -> p.1 = device_id AND pressed_at >= p.2 AND pressed_at <= p.3, "
    + CONFIRMED_PERIODS
    + ")"
)
#: the building block: the press is not confirmed misuse
NOT_CONFIRMED_MISUSE = "NOT " + INSIDE_CONFIRMED
# A gate and the time span of the confirmed periods: with nothing confirmed the gate is a
# constant false (ClickHouse then reads no part of presses: measured, the span alone still cost
# ~100 ms a query), else the span prunes the partitions outside it.
_CONFIRMED_SPAN = """
      AND (SELECT count() FROM misuse_reviews WHERE state = 'confirmed') > 0
      AND pressed_at >= (SELECT if(count() = 0, toDateTime64('2299-12-31', 3, 'UTC'),
                                   min(period_from))
                         FROM misuse_reviews FINAL WHERE state = 'confirmed')
      AND pressed_at <= (SELECT max(period_to) FROM misuse_reviews FINAL WHERE state = 'confirmed')
      AND """


def _counted(since: str, until: str, *, misuse: bool = False) -> str:
    """Counted presses, each event once, with the stream's scoping columns (kind never NULL).

    Confirmed misuse is left out; with ``misuse`` only the counted presses inside confirmed
    periods are kept (what the rollup forms subtract).
    """
    confirmed = _CONFIRMED_SPAN + INSIDE_CONFIRMED if misuse else "AND " + NOT_CONFIRMED_MISUSE
    return (
        (
            """
    SELECT device_id, assumeNotNull(site_id) AS site_id,
           assumeNotNull(department_id) AS department_id, question_id,
           ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen') AS kind,
           button, pressed_at
    FROM presses FINAL
    WHERE verdict = 'counted' AND site_id IS NOT NULL AND department_id IS NOT NULL
      AND pressed_at >= {@since:DateTime64(3, 'UTC')} AND pressed_at < {@until:DateTime64(3, 'UTC')}
      @CONFIRMED
"""
        )
        .replace("@since", since)
        .replace("@until", until)
        .replace("@CONFIRMED", confirmed)
    )


# Windows start at or after `since` and end at or before `until`: only presses in
# [since, until) can fall in them, so the range filter on presses loses nothing.
RECOMPUTE_SCORES = """
SELECT scope, scope_id, kind, `window`, window_start, window_end,
       count() AS n, countIf(button = 1) AS n1, countIf(button = 2) AS n2,
       countIf(button = 3) AS n3, countIf(button = 4) AS n4,
       civicpulse_score(n1, n2, n3, n4) AS score, (n3 + n4) / n AS positive_share
FROM
(
    SELECT kind, button,
           arrayJoin(arrayConcat(
               [('device', device_id), ('site', site_id), ('department', department_id),
                ('city', {city:String})],
               if(question_id IS NULL, [], [('question', assumeNotNull(question_id))])
           )) AS scope_pair,
           arrayJoin(arrayConcat(
               arrayMap(k -> ('15m', minute - toIntervalMinute(k),
                              minute - toIntervalMinute(k) + toIntervalMinute(15)), range(15)),
               [('1h', toDateTime(toStartOfHour(second, {tz:String}), 'UTC'),
                       toDateTime(toStartOfHour(second, {tz:String}), 'UTC') + toIntervalHour(1)),
                ('1d', toDateTime(toStartOfDay(second, {tz:String}), 'UTC'),
                       toDateTime(toStartOfDay(toStartOfDay(second, {tz:String})
                                               + toIntervalHour(36), {tz:String}), 'UTC'))]
           )) AS win,
           scope_pair.1 AS scope, scope_pair.2 AS scope_id,
           win.1 AS `window`,
           toDateTime64(win.2, 3, 'UTC') AS window_start,
           toDateTime64(win.3, 3, 'UTC') AS window_end
    FROM (SELECT *, toDateTime(pressed_at, 'UTC') AS second,
                 toStartOfMinute(toDateTime(pressed_at, 'UTC')) AS minute FROM (@COUNTED))
)
WHERE window_start >= {since:DateTime64(3, 'UTC')} AND window_end <= {until:DateTime64(3, 'UTC')}
GROUP BY scope, scope_id, kind, `window`, window_start, window_end
""".replace("@COUNTED", _counted("since", "until"))

STORED_SCORES = """
SELECT CAST(scope, 'String') AS scope, scope_id, CAST(kind, 'String') AS kind,
       CAST(`window`, 'String') AS `window`, window_start, window_end,
       n, n1, n2, n3, n4, score, positive_share
FROM scores FINAL
WHERE window_start >= {since:DateTime64(3, 'UTC')} AND window_end <= {until:DateTime64(3, 'UTC')}
"""

# Rows that differ: present on one side only, or with other counts / window end / score.
VERIFY_MISMATCHES = """
SELECT scope, scope_id, kind, `window`, window_start,
       r.window_end, r.n, r.n1, r.n2, r.n3, r.n4, r.score,
       s.window_end, s.n, s.n1, s.n2, s.n3, s.n4, s.score, s.positive_share
FROM (@RECOMPUTE) AS r
FULL OUTER JOIN (@STORED) AS s
USING (scope, scope_id, kind, `window`, window_start)
WHERE r.n IS NULL OR s.n IS NULL
   OR NOT (r.n = s.n AND r.n1 = s.n1 AND r.n2 = s.n2 AND r.n3 = s.n3 AND r.n4 = s.n4
           AND r.window_end = s.window_end
           AND ifNull(abs(r.score - s.score) <= 1e-9, 0)
           AND ifNull(abs(r.positive_share - s.positive_share) <= 1e-9, 0))
ORDER BY scope, scope_id, kind, `window`, window_start
LIMIT {limit:UInt32}
SETTINGS join_use_nulls = 1
""".replace("@RECOMPUTE", RECOMPUTE_SCORES).replace("@STORED", STORED_SCORES)

# How many windows verify compares: the union of recomputed and stored windows in the range.
VERIFY_COMPARED = """
SELECT count()
FROM (SELECT scope, scope_id, kind, `window`, window_start FROM (@RECOMPUTE)
      UNION DISTINCT
      SELECT scope, scope_id, kind, `window`, window_start FROM (@STORED))
""".replace("@RECOMPUTE", RECOMPUTE_SCORES).replace("@STORED", STORED_SCORES)

# The stored data's extent: end of the newest stored (closed) window and newest counted press
# (verify's default range), and whether a range holds any counted press.
STORED_EXTENT = """
SELECT (SELECT max(window_end) FROM scores) AS last_window_end,
       (SELECT max(pressed_at) FROM presses WHERE verdict = 'counted') AS last_press
"""
COUNTED_IN_RANGE = """
SELECT count() FROM presses FINAL
WHERE verdict = 'counted'
  AND pressed_at >= {since:DateTime64(3, 'UTC')} AND pressed_at < {until:DateTime64(3, 'UTC')}
"""

# -- dashboard figures ---------------------------------------------------------------------------
# Every figure returns counts n1..n4 (scores are derived: exact and mergeable). Filters: kind,
# and optionally department/site ('' = all). Time range [start, end) in UTC, whole hours.

_RAW_COUNTED = """
    SELECT toStartOfHour(pressed_at, 'UTC') AS hour, site_id, department_id,
           ifNull(question_id, '') AS question_id, kind, button
    FROM (@COUNTED)
    WHERE kind = {kind:String}
      AND ({department:String} = '' OR department_id = {department:String})
      AND ({site:String} = '' OR site_id = {site:String})
""".replace("@COUNTED", _counted("start", "end"))

_ROLLUP = """
    SELECT hour, site_id, department_id, question_id, CAST(kind, 'String') AS kind,
           toInt64(n1) AS n1, toInt64(n2) AS n2, toInt64(n3) AS n3, toInt64(n4) AS n4
    FROM presses_hourly
    WHERE hour >= {start:DateTime64(3, 'UTC')} AND hour < {end:DateTime64(3, 'UTC')}
      AND kind = {kind:String}
      AND ({department:String} = '' OR department_id = {department:String})
      AND ({site:String} = '' OR site_id = {site:String})
    UNION ALL
    SELECT toStartOfHour(pressed_at, 'UTC') AS hour, site_id, department_id,
           ifNull(question_id, '') AS question_id, kind,
           -toInt64(button = 1) AS n1, -toInt64(button = 2) AS n2,
           -toInt64(button = 3) AS n3, -toInt64(button = 4) AS n4
    FROM (@MISUSE)
    WHERE kind = {kind:String}
      AND ({department:String} = '' OR department_id = {department:String})
      AND ({site:String} = '' OR site_id = {site:String})
""".replace("@MISUSE", _counted("start", "end", misuse=True))

#: the counted presses inside confirmed periods in ``[start, end)`` (what rollup forms subtract)
CONFIRMED_COUNTED = _counted("start", "end", misuse=True)

#: ``presses_hourly`` without confirmed misuse, its columns (hour, site_id, department_id,
#: question_id, kind as String, n1..n4): the rollup's rows of ``[start, end)`` and, subtracted,
#: the counted presses inside confirmed periods. For SQL that sums ``presses_hourly`` itself
#: (the Grafana panels): ``FROM (HOURLY_NOT_MISUSE)`` instead of ``FROM presses_hourly``.
HOURLY_NOT_MISUSE = """
    SELECT hour, site_id, department_id, question_id, CAST(kind, 'String') AS kind,
           toInt64(n1) AS n1, toInt64(n2) AS n2, toInt64(n3) AS n3, toInt64(n4) AS n4
    FROM presses_hourly
    WHERE hour >= {start:DateTime64(3, 'UTC')} AND hour < {end:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT toStartOfHour(pressed_at, 'UTC') AS hour, site_id, department_id,
           ifNull(question_id, '') AS question_id, kind,
           -toInt64(button = 1) AS n1, -toInt64(button = 2) AS n2,
           -toInt64(button = 3) AS n3, -toInt64(button = 4) AS n4
    FROM (@MISUSE)
""".replace("@MISUSE", _counted("start", "end", misuse=True))

COUNTS = {
    "rollup": "sum(n1) AS n1, sum(n2) AS n2, sum(n3) AS n3, sum(n4) AS n4",
    "raw": "countIf(button = 1) AS n1, countIf(button = 2) AS n2, countIf(button = 3) AS n3, "
    "countIf(button = 4) AS n4",
}


def _figure(select: str, group: str) -> dict[Source, str]:
    # Composes constant fragments of this module only; values are bound parameters.
    sources: tuple[tuple[Source, str], ...] = (("rollup", _ROLLUP), ("raw", _RAW_COUNTED))
    return {
        source: " ".join(
            ("SELECT", select, ",", COUNTS[source], "FROM (", inner, ") GROUP BY", group),
        )
        + " ORDER BY "
        + group
        for source, inner in sources
    }


SITE_DAILY = _figure("site_id, toDate(hour, {tz:String}) AS day", "site_id, day")
SITE_TOTALS = _figure("department_id, site_id", "department_id, site_id")
DEPARTMENT_MONTHLY = _figure(
    "department_id, toStartOfMonth(hour, {tz:String}) AS month", "department_id, month"
)
#: counts per site, question ('' = none) and city day: what service standards are measured on
STANDARD_DAYS = _figure(
    "site_id, question_id, toDate(hour, {tz:String}) AS day", "site_id, question_id, day"
)
HEATMAP = _figure(
    "toDayOfWeek(hour, 0, {tz:String}) AS weekday, toHour(hour, {tz:String}) AS hour_of_day",
    "weekday, hour_of_day",
)

# Distinct (event_id, verdict) pairs per device: a re-sent press may be counted once and judged
# `duplicate` once; each judgement counts once however often the sink delivered it.
# Counted presses inside confirmed periods are reported under the verdict `misuse`.
VERDICTS_PER_DEVICE: dict[Source, str] = {
    "rollup": """
        SELECT device_id, verdict, sum(presses) AS presses
        FROM (
            SELECT device_id, CAST(verdict, 'String') AS verdict, toInt64(presses) AS presses
            FROM press_verdicts_hourly
            WHERE hour >= {start:DateTime64(3, 'UTC')} AND hour < {end:DateTime64(3, 'UTC')}
            UNION ALL
            SELECT device_id, move.1 AS verdict, move.2 AS presses
            FROM (@MISUSE)
            ARRAY JOIN [('counted', toInt64(-1)), ('misuse', toInt64(1))] AS move
        )
        GROUP BY device_id, verdict HAVING presses != 0 ORDER BY device_id, verdict
    """.replace("@MISUSE", _counted("start", "end", misuse=True)),
    "raw": """
        SELECT device_id,
               if(verdict = 'counted' AND @INSIDE, 'misuse', CAST(verdict, 'String')) AS verdict_s,
               count() AS presses
        FROM presses FINAL
        WHERE pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
          AND verdict != 'duplicate'
        GROUP BY device_id, verdict_s ORDER BY device_id, verdict_s
    """.replace("@INSIDE", INSIDE_CONFIRMED),
}


def rollups_serve(tz: str, start: datetime, end: datetime) -> bool:
    """True when hour buckets in UTC map onto the zone's local hours and days over the range.

    The rollups bucket by UTC hour; a zone with a half-hour offset (Asia/Kolkata) would split
    its local days inside a bucket, so figures for it must come from the raw scan.
    """
    zone = ZoneInfo(tz)
    moment = start.astimezone(UTC)
    while moment <= end:
        offset = moment.astimezone(zone).utcoffset() or timedelta(0)
        if offset % timedelta(hours=1):
            return False
        moment += timedelta(days=7)
    return True


def figure_sql(figures: dict[Source, str], tz: str, start: datetime, end: datetime) -> str:
    """The rollup form of a figure when it serves the zone, else the raw scan."""
    return figures["rollup" if rollups_serve(tz, start, end) else "raw"]


def score_of(n1: int, n2: int, n3: int, n4: int) -> float | None:
    """The contract score of counts per button: the stream's own formula (``Counts.score``), as
    SQL's ``civicpulse_score`` (migration 0010) is."""
    return Counts(n1, n2, n3, n4).score


def positive_share_of(n1: int, n2: int, n3: int, n4: int) -> float | None:
    return Counts(n1, n2, n3, n4).positive_share
