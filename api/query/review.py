"""Misuse review in the query API: list suspect periods, confirm or dismiss one (token auth).

The same store as ``civicpulse review list|confirm|dismiss``
(:mod:`civicpulse.analytics.review.store`):
a confirmation turns the period's presses into misuse on every surface and rewrites the closed
windows it touches. Handlers are plain functions (FastAPI's thread pool runs them).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from civicpulse.api.query.auth import require_token
from civicpulse.api.query.context import OrjsonResponse, query_client, query_settings
from civicpulse.sink.exceptions import ReviewNotFoundError, SinkError

if TYPE_CHECKING:
    pass

__all__ = ["router"]

router = APIRouter(prefix="/v1/review", tags=["review"], dependencies=[Depends(require_token)])


class Suspect(BaseModel):
    """A suspect period (the scan's line: ``from``/``to`` inclusive, UTC) and its decision."""

    id: str
    device_id: str
    site_id: str
    from_: str = Field(alias="from")
    to: str
    pattern: str
    presses: int
    evidence: str
    figures: dict[str, Any]
    found_at: str
    state: Literal["open", "confirmed", "dismissed"]
    note: str
    decided_at: str | None
    decided_by: str


class SuspectsPage(BaseModel):
    items: list[Suspect]


class Decision(BaseModel):
    note: str = Field(default="", max_length=2000, description="why, in the reviewer's words")


class _Detail(BaseModel):
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": _Detail, "description": "no or unknown bearer token"},
    404: {"model": _Detail, "description": "no suspect period with this id"},
    503: {"model": _Detail, "description": "the database did not answer"},
}


@router.get(
    "/suspects", response_model=SuspectsPage, responses=_ERRORS, response_class=OrjsonResponse
)
def suspects(
    request: Request,
    state: Annotated[
        Literal["open", "confirmed", "dismissed", "all"],
        Query(description="which periods: open (default) or decided ones, or all"),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> OrjsonResponse:
    """Suspect periods by device and start (open ones by default)."""
    from civicpulse.analytics.review.store import list_reviews

    try:
        found = list_reviews(
            query_client(request), state=None if state == "all" else state, limit=limit
        )
    except SinkError as exc:
        return OrjsonResponse({"detail": str(exc)}, status_code=503)
    return OrjsonResponse({"items": [r.record() for r in found]})


def _decide(
    request: Request, review_id: uuid.UUID, state: Literal["confirmed", "dismissed"], note: str
) -> OrjsonResponse:
    from civicpulse.analytics.review.store import decide

    settings = query_settings(request)
    try:
        review = decide(
            query_client(request),
            str(review_id),
            state=state,
            note=note,
            by="api",
            tz=settings.city_timezone,
            city_id=settings.city_id,
        )
    except ReviewNotFoundError as exc:
        return OrjsonResponse({"detail": str(exc)}, status_code=404)
    except SinkError as exc:
        return OrjsonResponse({"detail": str(exc)}, status_code=503)
    return OrjsonResponse(review.record())


@router.post(
    "/suspects/{review_id}/confirm",
    response_model=Suspect,
    responses=_ERRORS,
    response_class=OrjsonResponse,
)
def confirm(
    request: Request, review_id: uuid.UUID, decision: Decision | None = None
) -> OrjsonResponse:
    """Confirm: the period's presses become misuse everywhere; touched closed windows rescored."""
    return _decide(request, review_id, "confirmed", (decision or Decision()).note)


@router.post(
    "/suspects/{review_id}/dismiss",
    response_model=Suspect,
    responses=_ERRORS,
    response_class=OrjsonResponse,
)
def dismiss(
    request: Request, review_id: uuid.UUID, decision: Decision | None = None
) -> OrjsonResponse:
    """Dismiss: the period is honest (a dismissed confirmation counts its presses again)."""
    return _decide(request, review_id, "dismissed", (decision or Decision()).note)
