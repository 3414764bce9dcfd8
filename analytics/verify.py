"""``civicpulse verify``: closed-window scores in ClickHouse against a recomputation from presses.

The recomputation (:data:`civicpulse.analytics.queries.RECOMPUTE_SCORES`) applies the stream's rules
to the stored presses; every window that starts at or after ``since`` and ends at or before
``until`` must match the ``scores`` table (read with FINAL) count for count, score within 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from civicpulse.analytics.queries import (
    COUNTED_IN_RANGE,
    STORED_EXTENT,
    VERIFY_COMPARED,
    VERIFY_MISMATCHES,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "Mismatch",
    "VerifyResult",
    "default_range",
    "stored_range",
    "verify_scores",
]

#: how many days back from the newest stored window ``stored_range`` covers
RECENT_DAYS = 7

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
    #: windows compared (recomputed or stored, each once)
    compared: int = 0
    #: counted presses stored in the range
    counted: int = 0

    @property
    def ok(self) -> bool:
        """No mismatch, and something was compared wherever there are presses."""
        return not self.mismatches and (self.compared > 0 or self.counted == 0)

    @property
    def empty(self) -> bool:
        """Nothing to check: no counted press and no stored window in the range."""
        return self.compared == 0 and self.counted == 0


def default_range(tz: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Yesterday in the city's calendar, as UTC ``[midnight, next midnight)``: a closed day."""
    zone = ZoneInfo(tz)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=zone)
    end = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None if moment.year <= 1970 else moment  # max() of an empty table is the epoch


def stored_range(client: Client, tz: str) -> tuple[datetime, datetime] | None:
    """The stored data's recent days: ``RECENT_DAYS`` local days up to the newest stored window.

    Without stored windows, up to the local midnight after the newest counted press (every
    window there is then missing: verify fails, as it should). None when nothing is stored.
    """
    last_window, last_press = (_utc(v) for v in client.query(STORED_EXTENT).result_rows[0])
    zone = ZoneInfo(tz)
    if last_window is not None:
        until = last_window
    elif last_press is not None:
        day = last_press.astimezone(zone).date() + timedelta(days=1)
        until = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    else:
        return None
    first = (until - timedelta(seconds=1)).astimezone(zone).date() - timedelta(days=RECENT_DAYS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return since, until


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
    parameters = {"since": since, "until": until, "tz": tz, "city": city_id}
    rows = client.query(
        VERIFY_MISMATCHES, parameters={**parameters, "limit": limit + 1}
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
    compared = client.query(VERIFY_COMPARED, parameters=parameters).result_rows[0][0]
    counted = client.query(COUNTED_IN_RANGE, parameters=parameters).result_rows[0][0]
    return VerifyResult(
        since,
        until,
        city_id,
        mismatches,
        truncated=len(rows) > limit,
        compared=int(compared),
        counted=int(counted),
    )
