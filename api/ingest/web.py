"""Widget and kiosk endpoints: ``POST /v1/web/presses`` and the question a device shows.

``/v1/web/presses`` takes one press of a ``web`` device. The browser sends a random
``browser_id``; the API stores only ``visitor = HMAC(salt of today, browser_id)``. Limits: per
IP (in :mod:`civicpulse.api.edge`, before the body is read: the same for the question
endpoints), body size (413) and per visitor, the rate limits answered with 429 and
``Retry-After``. Other codes as for terminals: 404 unknown device, 410 retired, 403 not a web
device, 422 invalid press, 503 broker did not acknowledge, 202 durable on ``presses.raw``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from civicpulse.api import metrics
from civicpulse.api.ingest.catalogue_source import device_status
from civicpulse.api.ingest.models import (
    ProblemDetail,
    QuestionOut,
    ReasonOut,
    WebPressAccepted,
    WebPressIn,
)
from civicpulse.api.ingest.state import IngestState, get_state
from civicpulse.api.ingest.terminals import future_errors, problem, publish_response
from civicpulse.api.pages.texts import BUTTONS, DEFAULT_QUESTION, REASONS, UI
from civicpulse.schemas.catalogue import Catalogue, Device
from civicpulse.schemas.events import PressEvent

__all__ = ["question_of", "router"]

router = APIRouter(tags=["web"])


def _too_many(wait: float) -> HTTPException:
    return HTTPException(
        429, "too many presses; wait before pressing again", {"Retry-After": str(math.ceil(wait))}
    )


def _check_device(state: IngestState, device_id: str, channel: str | None) -> Device | JSONResponse:
    status, device = device_status(state.catalogue.get(), device_id, datetime.now(UTC))
    if status == "unknown" or device is None:
        return problem(404, f"device {device_id} is not in the catalogue")
    if status == "retired":
        return problem(410, f"device {device_id} is retired")
    if channel is not None and device.channel != channel:
        return problem(403, f"device {device_id} is not a {channel} device")
    return device


@router.post(
    "/v1/web/presses",
    status_code=202,
    response_model=WebPressAccepted,
    summary="Ingest one press from the web widget",
    responses={
        code: {"model": ProblemDetail, "description": text}
        for code, text in [
            (403, "not a web device"),
            (404, "device not in the catalogue"),
            (410, "device retired"),
            (408, "the body did not arrive in time"),
            (413, "body over the widget's limit (a few KB)"),
            (422, "invalid press (fields, or a time no rule could count)"),
            (429, "rate limit (per IP or per visitor); see Retry-After"),
            (503, "broker did not acknowledge; retry"),
        ]
    },
)
async def post_web_press(
    press: WebPressIn, state: Annotated[IngestState, Depends(get_state)]
) -> Any:
    received_at = datetime.now(UTC)
    too_late = future_errors([press], received_at, state.options.future_limit)
    if too_late:
        return problem(422, too_late)
    checked = _check_device(state, press.device_id, "web")
    if isinstance(checked, JSONResponse):
        return checked
    visitor = state.visitors.visitor(press.browser_id, received_at)
    wait = state.visitor_limiter.acquire(f"{press.device_id}\0{visitor}")
    if wait > 0:
        raise _too_many(wait)
    event = PressEvent(
        event_id=press.event_id,
        channel="web",
        device_id=press.device_id,
        button=press.button,
        pressed_at=press.pressed_at,
        received_at=received_at,
        visitor=visitor,
        reason=press.reason,
        lang=press.lang,
    )
    outcome = await publish_response(state, [event])
    if isinstance(outcome, JSONResponse):
        return outcome
    metrics.PRESSES_ACCEPTED.labels("web").inc()
    return JSONResponse({"event_id": str(event.event_id), "status": "accepted"}, status_code=202)


def question_of(
    catalogue: Catalogue, device: Device, lang: Literal["pl", "en"], at: datetime
) -> QuestionOut:
    """The texts a device shows now: its scheduled question (or a default), buttons, reasons."""
    question_id = device.question_at(at)
    text = DEFAULT_QUESTION[lang]
    for question in catalogue.questions:
        if question.question_id == question_id:
            text = getattr(question.text, lang)
    return QuestionOut(
        device_id=device.device_id,
        question_id=question_id,
        lang=lang,
        text=text,
        buttons=BUTTONS[lang],
        reasons=[ReasonOut(code=code, label=labels[lang]) for code, labels in REASONS],
        **UI[lang],
    )


_QUESTION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ProblemDetail, "description": "not a web device"},
    404: {"model": ProblemDetail, "description": "device not in the catalogue"},
    410: {"model": ProblemDetail, "description": "device retired"},
    429: {"model": ProblemDetail, "description": "rate limit per IP; see Retry-After"},
}


@router.get(
    "/v1/web/devices/{device_id}/question",
    response_model=QuestionOut,
    responses=_QUESTION_ERRORS,
    summary="The question a web widget shows now",
)
async def web_question(
    device_id: str,
    state: Annotated[IngestState, Depends(get_state)],
    lang: Annotated[Literal["pl", "en"], Query()] = "pl",
) -> Any:
    checked = _check_device(state, device_id, "web")
    if isinstance(checked, JSONResponse):
        return checked
    return question_of(state.catalogue.get(), checked, lang, datetime.now(UTC))


@router.get(
    "/v1/devices/{device_id}/question",
    response_model=QuestionOut,
    responses=_QUESTION_ERRORS,
    summary="The question any device (e.g. a kiosk terminal) shows now",
)
async def device_question(
    device_id: str,
    state: Annotated[IngestState, Depends(get_state)],
    lang: Annotated[Literal["pl", "en"], Query()] = "pl",
) -> Any:
    checked = _check_device(state, device_id, None)
    if isinstance(checked, JSONResponse):
        return checked
    return question_of(state.catalogue.get(), checked, lang, datetime.now(UTC))
