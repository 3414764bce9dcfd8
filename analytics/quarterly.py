"""The quarterly export (``civicpulse export --quarter 2026Q3 OUT.csv``): one CSV row per service
(department, site) and channel with responses, share satisfied (buttons 3-4), mean score, and the
service standard's target and whether the quarter attained it.

Presses: counted citizen presses, each event once, confirmed misuse left out (the building block
:data:`civicpulse.analytics.queries.NOT_CONFIRMED_MISUSE`; the rollups carry no channel, so this
reads the quarter's presses, as the annual report's channel figure does). The standard of a
service is its site's standard for every question, else its department's; it is judged over the
whole service (every channel) with the month rule of :mod:`civicpulse.analytics.standards` applied
to
the quarter's days: ``met`` when every day with enough responses met the target. ``target`` and
``attained`` are empty for a service without a standard.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicpulse.analytics.queries import COUNTS, NOT_CONFIRMED_MISUSE, positive_share_of, score_of
from civicpulse.analytics.standards import period_status
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.sink.exceptions import SinkError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["COLUMNS", "SERVICE_CHANNELS", "export_quarter", "parse_quarter", "quarter_rows"]

COLUMNS = (
    "department_id",
    "site_id",
    "channel",
    "responses",
    "share_satisfied",
    "mean_score",
    "target_score",
    "attained",
)

SERVICE_CHANNELS = """
SELECT assumeNotNull(department_id) AS department, assumeNotNull(site_id) AS site,
       CAST(channel, 'String') AS channel_name, @COUNTS
FROM presses FINAL
WHERE verdict = 'counted' AND site_id IS NOT NULL AND department_id IS NOT NULL
  AND ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen') = 'citizen'
  AND pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
  AND @NOT_MISUSE
GROUP BY department, site, channel_name ORDER BY department, site, channel_name
""".replace("@COUNTS", COUNTS["raw"]).replace("@NOT_MISUSE", NOT_CONFIRMED_MISUSE)

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def parse_quarter(text: str) -> tuple[date, date]:
    """``2026Q3`` -> (2026-07-01, 2026-10-01): its first city day and the day after its last."""
    match = _QUARTER.match(text.strip().upper())
    if match is None:
        raise SinkError(f"quarter {text!r}: write it as YEARQn, e.g. 2026Q3")
    year, quarter = int(match.group(1)), int(match.group(2))
    first = date(year, 3 * quarter - 2, 1)
    return first, date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)


def _attainment(days: Sequence[Mapping[str, Any]]) -> tuple[float, str] | None:
    """(target of the last day, quarter status) from one standard's day items."""
    if not days:
        return None
    return float(days[-1]["target_score"]), period_status([d["status"] for d in days])


def quarter_rows(
    counts: Sequence[tuple[str, str, str, int, int, int, int]],
    day_items: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """CSV rows from (department, site, channel, n1..n4) and the standards' day items."""
    by_target: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for item in day_items:
        if item["question"] is None:
            by_target.setdefault((item["scope"], item["id"]), []).append(item)
    rows = []
    for department, site, channel, n1, n2, n3, n4 in counts:
        standard = _attainment(by_target.get(("site", site), [])) or _attainment(
            by_target.get(("department", department), [])
        )
        share = positive_share_of(n1, n2, n3, n4)
        score = score_of(n1, n2, n3, n4)
        rows.append(
            {
                "department_id": department,
                "site_id": site,
                "channel": channel,
                "responses": n1 + n2 + n3 + n4,
                "share_satisfied": "" if share is None else round(share, 4),
                "mean_score": "" if score is None else round(score, 2),
                "target_score": "" if standard is None else standard[0],
                "attained": "" if standard is None else standard[1],
            }
        )
    return rows


def export_quarter(
    client: Client, catalogue: Catalogue, *, quarter: str, tz: str, out: Path, today: date
) -> int:
    """Write the quarter's CSV to ``out``; returns its data rows. Days after ``today`` are not
    judged (a quarter still running is judged so far)."""
    from civicpulse.analytics.standards_read import local_midnight, standards_items

    first, end = parse_quarter(quarter)
    start, stop = local_midnight(first, tz), local_midnight(end, tz)
    result = client.query(SERVICE_CHANNELS, parameters={"start": start, "end": stop})
    counts = [
        (str(d), str(s), str(c), int(n1), int(n2), int(n3), int(n4))
        for d, s, c, n1, n2, n3, n4 in result.result_rows
    ]
    judged_end = min(end, today + timedelta(days=1))
    days = (
        standards_items(client, catalogue, tz=tz, first=first, end=judged_end)
        if first < judged_end
        else []
    )
    rows = quarter_rows(counts, days)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
