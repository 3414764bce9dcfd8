"""The query API under ``/v1`` (contract "Query API" in DESIGN.md): scores, ranking, heat map,
verdicts, alerts, presses and the year export, all behind a bearer token.

Handlers are plain functions, so FastAPI runs them in its thread pool: ClickHouse calls (chDB
included) never block the event loop. The SQL lives in :mod:`civicpulse.analytics.api_queries`; the
export streams the very chunks ``civicpulse export`` writes
(:func:`analytics.export.stream_presses`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from civicpulse.analytics import api_queries as sql
from civicpulse.api.alerts.actions import LIFECYCLE_FIELDS, with_lifecycles
from civicpulse.api.ingest.models import ProblemDetail
from civicpulse.api.query.auth import require_token
from civicpulse.api.query.context import OrjsonResponse, query_client, query_settings
from civicpulse.api.query.models import (
    AlertsPage,
    ChannelScoresPage,
    HeatmapPage,
    PressesPage,
    RankingPage,
    ScoresPage,
    VerdictsPage,
)
from civicpulse.api.query.params import (
    Limit,
    TimeRange,
    decode_cursor,
    encode_cursor,
    invalid,
    time_range,
    utc_text,
)
from civicpulse.sink.exceptions import SinkError
from civicpulse.sink.rows import ALERT_COLUMNS, PRESS_COLUMNS, SCORE_COLUMNS

if TYPE_CHECKING:
    pass

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemDetail, "description": "no or unknown bearer token"},
    422: {"model": ProblemDetail, "description": "invalid parameter: which one and why"},
    503: {"model": ProblemDetail, "description": "ClickHouse is not reachable or not migrated"},
}

router = APIRouter(prefix="/v1", tags=["queries"], dependencies=[Depends(require_token)])

Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Range = Annotated[TimeRange, Depends(time_range)]


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _page(
    endpoint: str, page: sql.Page, keep: Sequence[str], rename: dict[str, str] | None = None
) -> OrjsonResponse:
    rename = rename or {}
    items = [{rename.get(c, c): _wire(row[c]) for c in keep} for row in page.rows]
    cursor = None if page.next_key is None else encode_cursor(endpoint, page.next_key)
    return OrjsonResponse({"items": items, "next_cursor": cursor})


def _list_page(
    endpoint: str,
    items: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[Any, ...]],
    after: tuple[Any, ...] | None,
    limit: int,
) -> OrjsonResponse:
    """Page through a small list computed whole (ranking, heat map), keyed like the SQL pages."""
    rest = [item for item in items if after is None or key(item) > after]
    chunk = rest[:limit]
    more = len(rest) > limit
    cursor = encode_cursor(endpoint, key(chunk[-1])) if more else None
    return OrjsonResponse({"items": chunk, "next_cursor": cursor})


def _query(run: Callable[[], OrjsonResponse]) -> OrjsonResponse:
    try:
        return run()
    except SinkError as exc:
        return OrjsonResponse({"detail": str(exc)}, status_code=503)


@router.get(
    "/scores",
    response_model=ScoresPage | ChannelScoresPage,
    responses=_ERRORS,
    response_class=OrjsonResponse,
)
def scores(
    request: Request,
    span: Range,
    scope: Annotated[Literal["city", "department", "site", "device", "question"], Query()],
    window: Annotated[
        Literal["15m", "1h", "1d"] | None,
        Query(description="window length (required unless by=channel)"),
    ] = None,
    scope_id: Annotated[str, Query(max_length=200, description="empty: every id")] = "",
    kind: Annotated[Literal["citizen", "employee"] | None, Query()] = None,
    by: Annotated[
        Literal["window", "channel"],
        Query(description="channel: per department or site and channel over [from, to)"),
    ] = "window",
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Closed-window scores (the latest row of each window), ``window_start`` in [from, to);
    ``by=channel``: citizen responses, score and share per channel of each department or site."""
    if by == "channel":
        return _by_channel(request, span, scope, scope_id, limit, cursor)
    if window is None:
        raise invalid("window", "required (15m, 1h or 1d) unless by=channel", "missing")
    after = decode_cursor(cursor, "scores", (str, str, datetime))
    return _query(
        lambda: _page(
            "scores",
            sql.scores_page(
                query_client(request),
                scope=scope,
                scope_id=scope_id,
                window=window,
                kind=kind or "",
                start=span.start,
                end=span.end,
                limit=limit,
                after=after,
            ),
            SCORE_COLUMNS,
        )
    )


def _by_channel(
    request: Request, span: TimeRange, scope: str, scope_id: str, limit: int, cursor: str | None
) -> OrjsonResponse:
    from civicpulse.analytics.channels import channel_items
    from civicpulse.analytics.quarterly import SERVICE_CHANNELS

    if scope not in ("department", "site"):
        raise invalid("scope", "by=channel takes scope=department or site", "value_error")
    level: Literal["department", "site"] = "department" if scope == "department" else "site"
    after = decode_cursor(cursor, "scores-channel", (str, str))

    def run() -> OrjsonResponse:
        params = {"start": span.start, "end": span.end}
        rows = query_client(request).query(SERVICE_CHANNELS, parameters=params).result_rows
        counted = [
            (str(d), str(s), str(c), int(n1), int(n2), int(n3), int(n4))
            for d, s, c, n1, n2, n3, n4 in rows
        ]
        items = channel_items(counted, level, scope_id)
        return _list_page(
            "scores-channel", items, lambda i: (i["scope_id"], i["channel"]), after, limit
        )

    return _query(run)


def _names(request: Request, level: str) -> dict[str, str]:
    ingest = getattr(request.app.state, "ingest", None)
    if ingest is None:
        return {}
    catalogue = ingest.catalogue.get()
    if level == "site":
        return {site.site_id: site.name for site in catalogue.sites}
    return {dep.department_id: dep.name for dep in catalogue.departments}


@router.get(
    "/ranking", response_model=RankingPage, responses=_ERRORS, response_class=OrjsonResponse
)
def ranking(
    request: Request,
    level: Annotated[Literal["site", "department"], Query()],
    span: Range,
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Fair ranking of citizen scores: shrunk toward the city mean as the annual report does."""
    after = decode_cursor(cursor, "ranking", (int,))
    settings = query_settings(request)

    def run() -> OrjsonResponse:
        items = sql.ranking(
            query_client(request),
            tz=settings.city_timezone,
            level=level,
            names=_names(request, level),
            start=span.start,
            end=span.end,
        )
        return _list_page("ranking", items, lambda e: (e["rank"],), after, limit)

    return _query(run)


@router.get(
    "/heatmap", response_model=HeatmapPage, responses=_ERRORS, response_class=OrjsonResponse
)
def heatmap(
    request: Request,
    span: Range,
    scope: Annotated[Literal["city", "department", "site"], Query()] = "city",
    scope_id: Annotated[str, Query(max_length=200, description="department or site id")] = "",
    kind: Annotated[Literal["citizen", "employee"], Query()] = "citizen",
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Counted presses by weekday (1 = Monday) and hour of day in the city time zone."""
    after = decode_cursor(cursor, "heatmap", (int, int))
    settings = query_settings(request)
    ident = "" if scope == "city" else scope_id

    def run() -> OrjsonResponse:
        cells = sql.heatmap(
            query_client(request),
            tz=settings.city_timezone,
            kind=kind,
            department=ident if scope == "department" else "",
            site=ident if scope == "site" else "",
            start=span.start,
            end=span.end,
        )
        return _list_page("heatmap", cells, lambda c: (c["weekday"], c["hour"]), after, limit)

    return _query(run)


@router.get(
    "/verdicts", response_model=VerdictsPage, responses=_ERRORS, response_class=OrjsonResponse
)
def verdicts(
    request: Request,
    span: Range,
    device_id: Annotated[str, Query(max_length=200)] = "",
    site_id: Annotated[str, Query(max_length=200)] = "",
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Judged presses per device and verdict (each judgement of an event once)."""
    after = decode_cursor(cursor, "verdicts", (str, str))
    settings = query_settings(request)
    return _query(
        lambda: _page(
            "verdicts",
            sql.verdicts_page(
                query_client(request),
                tz=settings.city_timezone,
                device_id=device_id,
                site_id=site_id,
                start=span.start,
                end=span.end,
                limit=limit,
                after=after,
            ),
            ("device_id", "verdict", "n"),
        )
    )


@router.get("/alerts", response_model=AlertsPage, responses=_ERRORS, response_class=OrjsonResponse)
def alerts(
    request: Request,
    span: Range,
    state: Annotated[Literal["open", "all"], Query(description="open: never resolved")] = "all",
    department: Annotated[str, Query(max_length=200)] = "",
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Alert events with ``at`` in [from, to), each with its alert's lifecycle (ack, comments,
    closing); ``state=open``: opened, neither resolved nor closed by hand since."""
    after = decode_cursor(cursor, "alerts", (datetime, str, str))

    def run() -> OrjsonResponse:
        client = query_client(request)
        page = sql.alerts_page(
            client,
            open_only=state == "open",
            department=department,
            start=span.start,
            end=span.end,
            limit=limit,
            after=after,
        )
        return _page("alerts", with_lifecycles(client, page), (*ALERT_COLUMNS, *LIFECYCLE_FIELDS))

    return _query(run)


@router.get(
    "/presses", response_model=PressesPage, responses=_ERRORS, response_class=OrjsonResponse
)
def presses(
    request: Request,
    span: Range,
    include_misuse: Annotated[bool, Query(description="also presses not counted")] = False,
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Stored presses, each event once, in time order (``pressed_at``, then ``event_id``)."""
    after = decode_cursor(cursor, "presses", (datetime, uuid.UUID))
    return _query(
        lambda: _page(
            "presses",
            sql.presses_page(
                query_client(request),
                include_misuse=include_misuse,
                start=span.start,
                end=span.end,
                limit=limit,
                after=after,
            ),
            PRESS_COLUMNS,
        )
    )


_EXPORT_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the presses file, streamed",
            "content": {"application/vnd.apache.parquet": {}, "text/csv": {}},
        },
        **_ERRORS,
    },
)
def export(
    request: Request,
    span: Range,
    format: Annotated[Literal["parquet", "csv"], Query()] = "parquet",
    include_misuse: Annotated[bool, Query(description="also presses not counted")] = False,
) -> Response:
    """The presses of [from, to) as one file, written chunk by chunk as ``civicpulse export``."""
    from civicpulse.analytics.export import stream_presses

    try:
        client = query_client(request)
        chunks: Iterator[bytes] = stream_presses(
            client, start=span.start, end=span.end, fmt=format, include_rejected=include_misuse
        )
        first = next(chunks)  # the plan query: a failure here is still a status code
    except SinkError as exc:
        return OrjsonResponse({"detail": str(exc)}, status_code=503)
    stamp = f"{span.start:%Y%m%dT%H%M}-{span.end:%Y%m%dT%H%M}"

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    return StreamingResponse(
        body(),
        media_type=_EXPORT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="presses-{stamp}.{format}"'},
    )
