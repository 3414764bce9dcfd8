"""``GET /v1/standards`` (contract "Service standards" in DESIGN.md): attainment of the
catalogue's service standards per city day or month, behind the query API's bearer token.

The range is in city days (``from`` inclusive, ``to`` exclusive, ``YYYY-MM-DD``, at most 366
days): standards are measured on whole local days. Days after today (city time) are not reported,
they have no responses yet. Items are computed whole (a year of daily items per standard is a few
thousand) and paged like the ranking: ``limit`` and an opaque ``cursor``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from civicpulse.analytics.standards_read import standards_items
from civicpulse.api.query.auth import require_token
from civicpulse.api.query.context import (
    OrjsonResponse,
    current_catalogue,
    query_client,
    query_settings,
)
from civicpulse.api.query.params import MAX_RANGE, Limit, decode_cursor, invalid
from civicpulse.api.query.routes import _ERRORS, Cursor, _list_page, _query

__all__ = ["StandardItem", "StandardsPage", "router"]

router = APIRouter(prefix="/v1", tags=["queries"], dependencies=[Depends(require_token)])


class StandardItem(BaseModel):
    scope: Literal["department", "site"]
    id: str
    question: str | None = Field(description="the standard's question; null: every question")
    period: str = Field(description="city day YYYY-MM-DD or month YYYY-MM")
    score: float | None
    responses: int
    target_score: float
    min_responses_per_day: int
    status: Literal["met", "missed", "too_few"]
    days_met: int | None = Field(None, description="months only")
    days_missed: int | None = Field(None, description="months only")
    days_too_few: int | None = Field(None, description="months only")


class StandardsPage(BaseModel):
    items: list[StandardItem]
    next_cursor: str | None


def day_range(first: date, end: date, today: date) -> tuple[date, date]:
    """The asked city days, checked, and cut at today (inclusive)."""
    if end <= first:
        raise invalid("to", f"must be after from ({first.isoformat()})", "range_empty")
    if end - first > MAX_RANGE:
        raise invalid("to", "at most 366 days per request (split it)", "range_too_long")
    return first, min(end, today + timedelta(days=1))


@router.get(
    "/standards", response_model=StandardsPage, responses=_ERRORS, response_class=OrjsonResponse
)
def standards(
    request: Request,
    from_: Annotated[date, Query(alias="from", description="first city day, YYYY-MM-DD")],
    to: Annotated[date, Query(description="city day after the last one (exclusive)")],
    department: Annotated[str, Query(max_length=200, description="its standards only")] = "",
    granularity: Annotated[Literal["day", "month"], Query()] = "day",
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """Attainment of each service standard: ``met``, ``missed`` or ``too_few`` responses."""
    after = decode_cursor(cursor, "standards", (str, str, str, str))
    settings = query_settings(request)
    today = datetime.now(ZoneInfo(settings.city_timezone)).date()
    first, end = day_range(from_, to, today)

    def run() -> OrjsonResponse:
        items = []
        if first < end:
            items = standards_items(
                query_client(request),
                current_catalogue(request),
                tz=settings.city_timezone,
                first=first,
                end=end,
                granularity=granularity,
                department=department,
            )
        return _list_page(
            "standards",
            items,
            lambda i: (i["scope"], i["id"], i["question"] or "", i["period"]),
            after,
            limit,
        )

    return _query(run)
