"""The live misuse review over ClickHouse: load scanned presses, store suspects, record decisions.

The scan itself is :func:`civicpulse.analytics.review.periods.scan`, the same pure function as the
offline
command; this module only feeds it the stored presses (the offline path's ``scannable`` rule:
counted presses of citizen questions with a site and department, each event once) and keeps
its output in ``misuse_reviews`` (migration 0007). A confirmed period is misuse everywhere
through :data:`civicpulse.analytics.queries.NOT_CONFIRMED_MISUSE`; :func:`rescore` rewrites the
stored closed windows the period touches so that ``civicpulse verify`` still holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import orjson

from civicpulse.analytics.queries import RECOMPUTE_SCORES
from civicpulse.analytics.review.periods import ScanPress, Suspect, format_ms
from civicpulse.schemas.settings import get_settings
from civicpulse.sink.exceptions import ReviewNotFoundError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "REVIEW_COLUMNS",
    "Review",
    "State",
    "decide",
    "get_review",
    "list_reviews",
    "load_presses",
    "rescore",
    "rescore_confirmed",
    "store_suspects",
]

State = Literal["open", "confirmed", "dismissed"]

_LIVE_PRESSES = """
SELECT toString(event_id), device_id, CAST(channel, 'String'), assumeNotNull(site_id),
       assumeNotNull(department_id), toUnixTimestamp64Milli(pressed_at), button
FROM presses FINAL
WHERE verdict = 'counted' AND site_id IS NOT NULL AND department_id IS NOT NULL
  AND ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen') != 'employee'
  AND pressed_at >= {since:DateTime64(3, 'UTC')} AND pressed_at < {until:DateTime64(3, 'UTC')}
ORDER BY device_id, pressed_at, event_id
SETTINGS do_not_merge_across_partitions_select_final = 1
"""


def load_presses(client: Client, since: datetime, until: datetime) -> list[ScanPress]:
    """The presses the offline scan would scan, read from ``presses`` FINAL in [since, until)."""
    rows = client.query(_LIVE_PRESSES, parameters={"since": since, "until": until}).result_rows
    return [
        ScanPress(
            event_id=str(event_id),
            device_id=str(device),
            channel=channel,
            site_id=str(site),
            department_id=str(department),
            at_ms=int(at_ms),
            button=int(button),
        )
        for event_id, device, channel, site, department, at_ms, button in rows
    ]


REVIEW_COLUMNS = (
    "id",
    "device_id",
    "site_id",
    "period_from",
    "period_to",
    "pattern",
    "presses",
    "evidence",
    "figures",
    "found_at",
    "state",
    "note",
    "decided_at",
    "decided_by",
    "updated_at",
)


@dataclass(frozen=True)
class Review:
    """One suspect period and its decision (``decided_*`` are None / '' while open)."""

    id: str
    device_id: str
    site_id: str
    period_from: datetime
    period_to: datetime
    pattern: str
    presses: int
    evidence: str
    figures: dict[str, Any]
    found_at: datetime
    state: State
    note: str
    decided_at: datetime | None
    decided_by: str

    def record(self) -> dict[str, Any]:
        """JSON form: the contract's suspect line (``from``/``to``) plus the decision."""

        def iso(moment: datetime) -> str:
            return format_ms(int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000))

        return {
            "id": self.id,
            "device_id": self.device_id,
            "site_id": self.site_id,
            "from": iso(self.period_from),
            "to": iso(self.period_to),
            "pattern": self.pattern,
            "presses": self.presses,
            "evidence": self.evidence,
            "figures": self.figures,
            "found_at": iso(self.found_at),
            "state": self.state,
            "note": self.note,
            "decided_at": iso(self.decided_at) if self.decided_at else None,
            "decided_by": self.decided_by,
        }


def _utc(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _row(review: Review, updated_at: datetime) -> list[Any]:
    return [
        review.id,
        review.device_id,
        review.site_id,
        review.period_from,
        review.period_to,
        review.pattern,
        review.presses,
        review.evidence,
        orjson.dumps(review.figures).decode(),
        review.found_at,
        review.state,
        review.note,
        review.decided_at,
        review.decided_by,
        updated_at,
    ]


def _insert(client: Client, reviews: Sequence[Review], updated_at: datetime) -> None:
    if reviews:
        rows = [_row(r, updated_at) for r in reviews]
        client.insert("misuse_reviews", rows, column_names=list(REVIEW_COLUMNS))


def store_suspects(client: Client, suspects: Iterable[Suspect], found_at: datetime) -> int:
    """Store the suspects not stored yet (state ``open``); returns how many were new.

    Idempotent: a period found again has the same id and is left as it is (its decision and its
    first ``found_at`` stay).
    """
    by_id = {s.id: s for s in suspects}
    if not by_id:
        return 0
    known = {
        str(row[0])
        for row in client.query(
            "SELECT DISTINCT toString(id) FROM misuse_reviews WHERE id IN {ids:Array(UUID)}",
            parameters={"ids": list(by_id)},
        ).result_rows
    }
    new = [
        Review(
            id=s.id,
            device_id=s.device_id,
            site_id=s.site_id,
            period_from=_utc(s.from_ms),
            period_to=_utc(s.to_ms),
            pattern=s.pattern,
            presses=s.presses,
            evidence=s.evidence,
            figures=dict(s.figures),
            found_at=found_at,
            state="open",
            note="",
            decided_at=None,
            decided_by="",
        )
        for ident, s in sorted(by_id.items())
        if ident not in known
    ]
    _insert(client, new, found_at)
    return len(new)


_SELECT = """
SELECT toString(id), device_id, site_id, period_from, period_to, pattern, presses, evidence,
       figures, found_at, CAST(state, 'String'), note, decided_at, decided_by
FROM misuse_reviews FINAL
"""


def _review(row: Sequence[Any]) -> Review:
    (ident, device, site, start, end, pattern, presses, evidence, figures, found, state, note,
     decided_at, decided_by) = row  # fmt: skip
    return Review(
        id=str(ident),
        device_id=str(device),
        site_id=str(site),
        period_from=start.replace(tzinfo=UTC),
        period_to=end.replace(tzinfo=UTC),
        pattern=str(pattern),
        presses=int(presses),
        evidence=str(evidence),
        figures=orjson.loads(figures or "{}"),
        found_at=found.replace(tzinfo=UTC),
        state=state,
        note=str(note),
        decided_at=decided_at.replace(tzinfo=UTC) if decided_at is not None else None,
        decided_by=str(decided_by),
    )


def list_reviews(client: Client, *, state: State | None = None, limit: int = 1000) -> list[Review]:
    """Stored periods (one state, or all), by device and start."""
    rows = client.query(
        _SELECT + "WHERE {state:String} = '' OR state = {state:String} "
        "ORDER BY device_id, period_from, pattern, period_to LIMIT {limit:UInt32}",
        parameters={"state": state or "", "limit": limit},
    ).result_rows
    return [_review(r) for r in rows]


def get_review(client: Client, review_id: str) -> Review:
    rows = client.query(
        _SELECT + "WHERE toString(id) = {id:String}", parameters={"id": review_id}
    ).result_rows
    if not rows:
        raise ReviewNotFoundError(
            f"no suspect period with id {review_id}; `civicpulse review list` shows the ids"
        )
    return _review(rows[0])


def decide(
    client: Client,
    review_id: str,
    *,
    state: Literal["confirmed", "dismissed"],
    note: str,
    by: str,
    tz: str,
    city_id: str | None = None,
    now: datetime | None = None,
) -> Review:
    """Record a decision (it replaces the stored row); a change in or out of ``confirmed``
    rewrites the closed windows the period touches (:func:`rescore`)."""
    before = get_review(client, review_id)
    moment = now or datetime.now(UTC)
    after = Review(
        **{
            **before.__dict__,
            "state": state,
            "note": note,
            "decided_at": moment,
            "decided_by": by,
        }
    )
    _insert(client, [after], moment)
    if "confirmed" in (before.state, state):
        rescore(client, after, tz=tz, city_id=city_id)
    return after


# -- rescoring ------------------------------------------------------------------------------------

# The scopes the period's presses belong to (all counted presses of the device in the period,
# confirmed or not): only their windows can change.
_PERIOD_SCOPES = """
SELECT DISTINCT arrayJoin(arrayConcat(
           [('device', device_id), ('site', assumeNotNull(site_id)),
            ('department', assumeNotNull(department_id)), ('city', {city:String})],
           if(question_id IS NULL, [], [('question', assumeNotNull(question_id))]))) AS pair
FROM presses FINAL
WHERE device_id = {device:String} AND verdict = 'counted' AND site_id IS NOT NULL
  AND department_id IS NOT NULL
  AND pressed_at >= {p_from:DateTime64(3, 'UTC')} AND pressed_at <= {p_to:DateTime64(3, 'UTC')}
"""
_TOUCHED = """
window_start >= {since:DateTime64(3, 'UTC')} AND window_end <= {until:DateTime64(3, 'UTC')}
AND window_start <= {p_to:DateTime64(3, 'UTC')} AND window_end > {p_from:DateTime64(3, 'UTC')}
AND (CAST(scope, 'String'), scope_id) IN (@SCOPES)
""".replace("@SCOPES", _PERIOD_SCOPES)
# Stored (closed) windows the recomputation no longer has: every press in them was misuse.
_DELETE_EMPTIED = """
DELETE FROM scores
WHERE @TOUCHED
  AND (CAST(scope, 'String'), scope_id, CAST(kind, 'String'), CAST(`window`, 'String'),
       window_start) NOT IN (SELECT scope, scope_id, kind, `window`, window_start FROM (@RECOMPUTE))
""".replace("@TOUCHED", _TOUCHED).replace("@RECOMPUTE", RECOMPUTE_SCORES)
# Closed windows, recomputed: a newer ingested_at replaces the old row. Closed = ending no later
# than the latest window the stream has stored (the city scope holds a row for every window with
# a press), so a window emptied by a confirmation and filled again by a dismissal comes back.
_REWRITE = """
INSERT INTO scores (scope, scope_id, kind, `window`, window_start, window_end,
                    n, n1, n2, n3, n4, score, positive_share)
SELECT scope, scope_id, kind, `window`, window_start, window_end,
       n, n1, n2, n3, n4, score, positive_share
FROM (@RECOMPUTE)
WHERE @TOUCHED
  AND window_end <= (SELECT max(window_end) FROM scores WHERE scope = 'city')
""".replace("@RECOMPUTE", RECOMPUTE_SCORES).replace("@TOUCHED", _TOUCHED)


def _window_span(review: Review, tz: str) -> tuple[datetime, datetime]:
    """A range holding every window (15 min, local hour, local day) the period can touch."""
    zone = ZoneInfo(tz)
    first = review.period_from.astimezone(zone).date()
    last = review.period_to.astimezone(zone).date()
    day_start = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    day_end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    since = min(day_start, review.period_from - timedelta(minutes=15))
    until = max(day_end.astimezone(UTC), review.period_to + timedelta(minutes=15))
    return since, until


def rescore(client: Client, review: Review, *, tz: str, city_id: str | None = None) -> None:
    """Rewrite the stored windows the period touches from the stored presses (confirmed misuse
    left out): the recomputed rows replace them, windows left with no press are deleted.

    Only closed windows are written (ending no later than the latest window in ``scores``); a
    window still open when the decision is taken is emitted later by the stream with the
    presses in it, and the next ``civicpulse review scan --live`` rewrites it
    (:func:`rescore_confirmed`).
    """
    since, until = _window_span(review, tz)
    city_id = city_id or get_settings().city_id
    params = {
        "since": since,
        "until": until,
        "tz": tz,
        "city": city_id,
        "device": review.device_id,
        "p_from": review.period_from,
        "p_to": review.period_to,
    }
    client.command(_DELETE_EMPTIED, parameters=params)
    client.command(_REWRITE, parameters=params)


def rescore_confirmed(
    client: Client, since: datetime, until: datetime, *, tz: str, city_id: str | None = None
) -> int:
    """:func:`rescore` every confirmed period that overlaps [since, until); returns how many."""
    periods = [
        r
        for r in list_reviews(client, state="confirmed", limit=100_000)
        if r.period_from < until and r.period_to >= since
    ]
    for review in periods:
        rescore(client, review, tz=tz, city_id=city_id)
    return len(periods)
