"""``civicpulse verify``: closed-window scores in ClickHouse against a recomputation from presses.

The recomputation (:data:`civicpulse.sink.queries.RECOMPUTE_SCORES`) applies the stream's rules
to the stored presses; every window that starts at or after ``since`` and ends at or before
``until`` must match the ``scores`` table (read with FINAL) count for count, score within 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from .queries import VERIFY_MISMATCHES

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["Mismatch", "VerifyResult", "default_range", "detect_city_id", "verify_scores"]

Problem = Literal["missing in scores", "extra in scores", "different"]


@dataclass(frozen=True)
class Mismatch:
    """One window whose stored score differs from the recomputation (None: side absent)."""

    problem: Problem
    scope: str
    scope_id: str
    kind: str
    window: str
    window_start: datetime
    expected: tuple[int, int, int, int, int] | None
    stored: tuple[int, int, int, int, int] | None
    expected_score: float | None
    stored_score: float | None


@dataclass(frozen=True)
class VerifyResult:
    since: datetime
    until: datetime
    city_id: str
    mismatches: list[Mismatch]
    truncated: bool

    @property
    def ok(self) -> bool:
        return not self.mismatches


def default_range(tz: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Yesterday in the city's calendar, as UTC ``[midnight, next midnight)``: a closed day."""
    zone = ZoneInfo(tz)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=zone)
    end = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def detect_city_id(client: Client, since: datetime, until: datetime) -> str | None:
    """The scope_id the stream gives the city scope, read from the stored scores (if one)."""
    rows = client.query(
        "SELECT DISTINCT scope_id FROM scores WHERE scope = 'city' "
        "AND window_start >= {since:DateTime64(3, 'UTC')} "
        "AND window_end <= {until:DateTime64(3, 'UTC')} LIMIT 2",
        parameters={"since": since, "until": until},
    ).result_rows
    return str(rows[0][0]) if len(rows) == 1 else None


def _counts(values: tuple[Any, ...]) -> tuple[int, int, int, int, int] | None:
    if values[0] is None:
        return None
    n, n1, n2, n3, n4 = (int(v) for v in values)
    return (n, n1, n2, n3, n4)


def verify_scores(
    client: Client,
    *,
    since: datetime,
    until: datetime,
    tz: str,
    city_id: str,
    limit: int = 1000,
) -> VerifyResult:
    """Compare stored closed-window scores with the recomputation; list up to ``limit`` diffs."""
    rows = client.query(
        VERIFY_MISMATCHES,
        parameters={
            "since": since,
            "until": until,
            "tz": tz,
            "city": city_id,
            "limit": limit + 1,
        },
    ).result_rows
    mismatches: list[Mismatch] = []
    for row in rows[:limit]:
        scope, scope_id, kind, window, start = row[:5]
        expected = _counts(tuple(row[6:11]))
        stored = _counts(tuple(row[13:18]))
        problem: Problem = (
            "missing in scores"
            if stored is None
            else "extra in scores"
            if expected is None
            else "different"
        )
        mismatches.append(
            Mismatch(
                problem=problem,
                scope=str(scope),
                scope_id=str(scope_id),
                kind=str(kind),
                window=str(window),
                # the driver returns naive UTC for DateTime64(3, 'UTC')
                window_start=start if start.tzinfo else start.replace(tzinfo=UTC),
                expected=expected,
                stored=stored,
                expected_score=row[11],
                stored_score=row[18],
            )
        )
    return VerifyResult(since, until, city_id, mismatches, truncated=len(rows) > limit)
