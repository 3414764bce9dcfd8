"""The query API's SQL: pages of scores, alerts, verdicts and presses; ranking and heat map.

Every list is a keyset page: rows come in a fixed order (the sort key), a page ends after
``limit`` rows, and the next one starts strictly after the last key (``after`` = that key, or
None for the first page). One extra row is read to know whether there is a next page. Values
always travel as bound parameters; identifiers never come from callers.

Reading rules: ``presses``, ``scores`` and ``alerts`` are ReplacingMergeTrees, read ``FINAL``
(scores: the latest row of each window; presses: each event once). Figures that sum counted
presses (ranking, heat map, verdicts) read the hourly rollups when the range is made of whole
UTC hours and the city zone's offsets are whole hours (:func:`queries.rollups_serve`), and the
raw scan otherwise: both forms return the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from civicpulse.analytics.queries import (
    CONFIRMED_COUNTED,
    HEATMAP,
    INSIDE_CONFIRMED,
    NOT_CONFIRMED_MISUSE,
    SITE_TOTALS,
    Source,
    rollups_serve,
    score_of,
)
from civicpulse.analytics.report.gather import shrunk
from civicpulse.sink.rows import ALERT_COLUMNS, PRESS_COLUMNS, SCORE_COLUMNS

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "Page",
    "alerts_page",
    "heatmap",
    "presses_page",
    "ranking",
    "rollup_source",
    "scores_page",
    "verdicts_page",
]

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Page:
    """Rows of one page and the sort key of its last row when more rows follow."""

    rows: list[dict[str, Any]]
    next_key: Key | None


def rollup_source(tz: str, start: datetime, end: datetime) -> Source:
    """``rollup`` when hour buckets cover [start, end) exactly in the city zone, else ``raw``."""
    whole_hours = all(
        moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0) == moment
        for moment in (start, end)
    )
    return "rollup" if whole_hours and rollups_serve(tz, start, end) else "raw"


def _page(
    client: Client,
    sql: str,
    params: dict[str, Any],
    columns: Sequence[str],
    key: Sequence[str],
    limit: int,
) -> Page:
    result = client.query(sql, parameters={**params, "limit": limit + 1}).result_rows
    rows = [dict(zip(columns, row, strict=True)) for row in result[:limit]]
    more = len(result) > limit
    return Page(rows, tuple(rows[-1][k] for k in key) if more and rows else None)


def _after(names: Sequence[str], after: Key | None) -> dict[str, Any]:
    """Bind the cursor: ``after`` = 1 and ``c_<name>`` per key part, or neutral values."""
    params: dict[str, Any] = {"after": int(after is not None)}
    for i, name in enumerate(names):
        params[f"c_{name}"] = after[i] if after is not None else _NEUTRAL[name]
    return params


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEUTRAL: dict[str, Any] = {
    "scope_id": "",
    "kind": "",
    "window_start": _EPOCH,
    "at": _EPOCH,
    "alert_id": "",
    "state": "",
    "device_id": "",
    "verdict": "",
    "pressed_at": _EPOCH,
    "event_id": "00000000-0000-0000-0000-000000000000",
}

# -- scores ---------------------------------------------------------------------------------------

SCORE_KEY = ("scope_id", "kind", "window_start")
_SCORES = """
SELECT CAST(scope, 'String') AS scope, scope_id, CAST(kind, 'String') AS kind_s,
       CAST(`window`, 'String') AS win, window_start, window_end,
       n, n1, n2, n3, n4, score, positive_share
FROM scores FINAL
WHERE scope = {scope:String} AND `window` = {window:String}
  AND ({scope_id:String} = '' OR scope_id = {scope_id:String})
  AND ({kind:String} = '' OR kind = {kind:String})
  AND window_start >= {start:DateTime64(3, 'UTC')} AND window_start < {end:DateTime64(3, 'UTC')}
  AND ({after:UInt8} = 0 OR (scope_id, kind_s, window_start)
       > ({c_scope_id:String}, {c_kind:String}, {c_window_start:DateTime64(3, 'UTC')}))
ORDER BY scope_id, kind_s, window_start
LIMIT {limit:UInt32}
SETTINGS do_not_merge_across_partitions_select_final = 1
"""


def scores_page(
    client: Client,
    *,
    scope: str,
    scope_id: str,
    window: str,
    kind: str,
    start: datetime,
    end: datetime,
    limit: int,
    after: Key | None,
) -> Page:
    params = {
        "scope": scope,
        "scope_id": scope_id,
        "window": window,
        "kind": kind,
        "start": start,
        "end": end,
        **_after(SCORE_KEY, after),
    }
    return _page(client, _SCORES, params, SCORE_COLUMNS, SCORE_KEY, limit)


# -- alerts ---------------------------------------------------------------------------------------

ALERT_KEY = ("at", "alert_id", "state")
_ALERTS = """
SELECT toString(alert_id) AS id, CAST(state, 'String') AS state_s, CAST(scope, 'String') AS sc,
       scope_id, department_id, CAST(mode, 'String') AS mode_s, score, n, threshold,
       window_start, window_end, at, CAST(kind, 'String') AS kind_s, site_id, expected_presses
FROM alerts FINAL
WHERE at >= {start:DateTime64(3, 'UTC')} AND at < {end:DateTime64(3, 'UTC')}
  AND ({department:String} = '' OR department_id = {department:String})
  AND ({open:UInt8} = 0 OR (state = 'opened' AND kind != 'recognition'
       AND alert_id NOT IN (SELECT alert_id FROM alerts WHERE state = 'resolved')
       AND alert_id NOT IN (SELECT alert_id FROM alert_actions WHERE action = 'close')))
  AND ({after:UInt8} = 0 OR (at, id, state_s)
       > ({c_at:DateTime64(3, 'UTC')}, {c_alert_id:String}, {c_state:String}))
ORDER BY at, id, state_s
LIMIT {limit:UInt32}
"""


def alerts_page(
    client: Client,
    *,
    open_only: bool,
    department: str,
    start: datetime,
    end: datetime,
    limit: int,
    after: Key | None,
) -> Page:
    """Alert events in [start, end) by ``at``; ``open_only``: opened, neither resolved nor
    closed by hand (a recognition is never open: there is nothing to fix)."""
    params = {
        "open": int(open_only),
        "department": department,
        "start": start,
        "end": end,
        **_after(ALERT_KEY, after),
    }
    return _page(client, _ALERTS, params, ALERT_COLUMNS, ALERT_KEY, limit)


# -- verdicts -------------------------------------------------------------------------------------

VERDICT_KEY = ("device_id", "verdict")
_VERDICT_PAGE = """
GROUP BY device_id, verdict_s
HAVING {after:UInt8} = 0 OR (device_id, verdict_s) > ({c_device_id:String}, {c_verdict:String})
ORDER BY device_id, verdict_s
LIMIT {limit:UInt32}
"""
# Each stored press once, by its stored (first) verdict; `duplicate` judgements of retries are
# not presses of their own (as press_verdicts_hourly counts them, migration 0006).
_VERDICTS: dict[Source, str] = {
    "rollup": """
SELECT device_id, verdict_s, sum(presses) AS n
FROM (
    SELECT device_id, site_id, CAST(verdict, 'String') AS verdict_s, toInt64(presses) AS presses
    FROM press_verdicts_hourly
    WHERE hour >= {start:DateTime64(3, 'UTC')} AND hour < {end:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT device_id, site_id, move.1 AS verdict_s, move.2 AS presses
    FROM (@MISUSE)
    ARRAY JOIN [('counted', toInt64(-1)), ('misuse', toInt64(1))] AS move
)
WHERE ({device:String} = '' OR device_id = {device:String})
  AND ({site:String} = '' OR site_id = {site:String})
""".replace("@MISUSE", CONFIRMED_COUNTED)
    + _VERDICT_PAGE.replace("HAVING ", "HAVING n != 0 AND (", 1).replace(
        "{c_verdict:String})\n", "{c_verdict:String}))\n", 1
    ),
    "raw": """
SELECT device_id,
       if(verdict = 'counted' AND @INSIDE, 'misuse', CAST(verdict, 'String')) AS verdict_s,
       count() AS n
FROM presses FINAL
WHERE pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
  AND verdict != 'duplicate'
  AND ({device:String} = '' OR device_id = {device:String})
  AND ({site:String} = '' OR ifNull(site_id, '') = {site:String})
""".replace("@INSIDE", INSIDE_CONFIRMED)
    + _VERDICT_PAGE,
}


def verdicts_page(
    client: Client,
    *,
    tz: str,
    device_id: str,
    site_id: str,
    start: datetime,
    end: datetime,
    limit: int,
    after: Key | None,
) -> Page:
    params = {
        "device": device_id,
        "site": site_id,
        "start": start,
        "end": end,
        **_after(VERDICT_KEY, after),
    }
    sql = _VERDICTS[rollup_source(tz, start, end)]
    return _page(client, sql, params, ("device_id", "verdict", "n"), VERDICT_KEY, limit)


# -- presses --------------------------------------------------------------------------------------

# Time order (the event id breaks ties), whatever the table's sorting key is.
PRESS_KEY = ("pressed_at", "event_id")
_PRESSES = """
SELECT toString(event_id) AS id, CAST(channel, 'String') AS channel_s, device_id, button,
       pressed_at, received_at, visitor, reason, lang, CAST(verdict, 'String') AS verdict_s,
       site_id, department_id, question_id,
       CAST(question_kind, 'Nullable(String)') AS question_kind_s
FROM presses FINAL
WHERE pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
  AND ({misuse:UInt8} = 1 OR (verdict = 'counted' AND @NOT_MISUSE))
  AND ({after:UInt8} = 0 OR (pressed_at >= {c_pressed_at:DateTime64(3, 'UTC')}
       AND (pressed_at, event_id) > ({c_pressed_at:DateTime64(3, 'UTC')}, {c_event_id:UUID})))
ORDER BY pressed_at, event_id
LIMIT {limit:UInt32}
SETTINGS do_not_merge_across_partitions_select_final = 1
""".replace("@NOT_MISUSE", NOT_CONFIRMED_MISUSE)


def presses_page(
    client: Client,
    *,
    include_misuse: bool,
    start: datetime,
    end: datetime,
    limit: int,
    after: Key | None,
) -> Page:
    params = {"misuse": int(include_misuse), "start": start, "end": end, **_after(PRESS_KEY, after)}
    return _page(client, _PRESSES, params, PRESS_COLUMNS, PRESS_KEY, limit)


# -- figures: heat map and ranking ----------------------------------------------------------------


def _figure_rows(
    client: Client,
    figure: dict[Source, str],
    *,
    tz: str,
    kind: str,
    department: str,
    site: str,
    start: datetime,
    end: datetime,
) -> list[tuple[Any, ...]]:
    params = {
        "tz": tz,
        "kind": kind,
        "department": department,
        "site": site,
        "start": start,
        "end": end,
    }
    sql = figure[rollup_source(tz, start, end)]
    return [tuple(row) for row in client.query(sql, parameters=params).result_rows]


def _cell(n1: int, n2: int, n3: int, n4: int) -> dict[str, Any]:
    return {"n": n1 + n2 + n3 + n4, "score": score_of(n1, n2, n3, n4)}


def heatmap(
    client: Client,
    *,
    tz: str,
    kind: str,
    department: str,
    site: str,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Cells ``{weekday (1 = Monday), hour (city time), n, score}`` ordered by weekday, hour."""
    rows = _figure_rows(
        client, HEATMAP, tz=tz, kind=kind, department=department, site=site, start=start, end=end
    )
    return [
        {"weekday": int(w), "hour": int(h), **_cell(*(int(c) for c in counts))}
        for w, h, *counts in rows
    ]


def ranking(
    client: Client,
    *,
    tz: str,
    level: Literal["site", "department"],
    names: dict[str, str],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """``{id, name, n, score, shrunk_score, rank}`` ranked by the report's shrunk score.

    Citizen presses only (employee mood is never ranked with citizens); the mean that low-volume
    entries are pulled toward is the city's over the same range.
    """
    rows = _figure_rows(
        client, SITE_TOTALS, tz=tz, kind="citizen", department="", site="", start=start, end=end
    )
    totals: dict[str, list[int]] = {}
    for department, site, *counts in rows:
        acc = totals.setdefault(site if level == "site" else department, [0, 0, 0, 0])
        for i, value in enumerate(counts):
            acc[i] += int(value)
    city = [sum(acc[i] for acc in totals.values()) for i in range(4)]
    city_mean = score_of(*city) or 0.0
    entries = []
    for ident, counts in totals.items():
        cell = _cell(*counts)
        entries.append(
            {
                "id": ident,
                "name": names.get(ident, ident),
                **cell,
                "shrunk_score": shrunk(cell["n"], cell["score"], city_mean),
            }
        )
    entries.sort(key=lambda e: (-e["shrunk_score"], e["id"]))
    return [{**entry, "rank": rank} for rank, entry in enumerate(entries, start=1)]
