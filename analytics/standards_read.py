"""Service standards over the store: the counts per city day they are measured on, and the items.

The counts come from the shared figure :data:`civicpulse.analytics.queries.STANDARD_DAYS` (citizen
presses, counted, confirmed misuse left out; the hourly rollups where they serve the zone, else
the raw scan); attainment itself is the pure :func:`civicpulse.analytics.standards.attainment`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from civicpulse.analytics.api_queries import rollup_source
from civicpulse.analytics.queries import STANDARD_DAYS
from civicpulse.analytics.standards import DayCounts, attainment
from civicpulse.schemas.catalogue import Catalogue

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["day_counts", "local_midnight", "standards_items"]


def local_midnight(day: date, tz: str) -> datetime:
    """The UTC moment a city day starts."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day_counts(client: Client, *, tz: str, first: date, end: date) -> DayCounts:
    """Counted citizen presses per (site, question or "", city day) over ``first`` .. ``end``."""
    start, stop = local_midnight(first, tz), local_midnight(end, tz)
    params = {
        "tz": tz,
        "kind": "citizen",
        "department": "",
        "site": "",
        "start": start,
        "end": stop,
    }
    rows = client.query(STANDARD_DAYS[rollup_source(tz, start, stop)], parameters=params)
    out: dict[tuple[str, str, date], tuple[int, int, int, int]] = {}
    for site, question, day, n1, n2, n3, n4 in rows.result_rows:
        out[(str(site), str(question), day)] = (int(n1), int(n2), int(n3), int(n4))
    return out


def standards_items(
    client: Client,
    catalogue: Catalogue,
    *,
    tz: str,
    first: date,
    end: date,
    granularity: Literal["day", "month"] = "day",
    department: str = "",
) -> list[dict[str, Any]]:
    """The contract's items of every standard over city days ``first`` .. ``end`` (exclusive)."""
    if not catalogue.standards:
        return []
    counts = day_counts(client, tz=tz, first=first, end=end)
    return attainment(
        catalogue, counts, first=first, end=end, granularity=granularity, department=department
    )
