"""Request and response bodies of the ingest endpoints (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator

from civicpulse.schemas.events import (
    TERMINAL_VISITOR,
    Button,
    Identifier,
    Lang,
    PressedAt,
    PressEvent,
    Reason,
)

__all__ = [
    "BatchAccepted",
    "EventError",
    "EventResult",
    "PressBatch",
    "PressIn",
    "ProblemDetail",
    "QuestionOut",
    "ReasonOut",
    "WebPressAccepted",
    "WebPressIn",
]

_PRESS_EXAMPLE: dict[str, JsonValue] = {
    "event_id": "5b0a4f0e-8c1e-4c55-9d4e-6f1b2b4f7a10",
    "device_id": "th1-desk-3",
    "button": 4,
    "pressed_at": "2025-03-14T09:26:53.589Z",
    "reason": "fast_service",
    "lang": "pl",
}


class PressIn(BaseModel):
    """A terminal press as sent to the API; ``received_at`` is set by the API, never by a device."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, json_schema_extra={"examples": [_PRESS_EXAMPLE]}
    )

    event_id: UUID = Field(description="UUID made by the terminal; the idempotency key")
    channel: Literal["terminal"] = "terminal"
    device_id: Identifier
    button: Button
    pressed_at: PressedAt = Field(
        description="terminal clock, ISO-8601 string with a UTC offset, from 2000 on; at most "
        "max_future + 1 h ahead of the server's clock"
    )
    reason: Reason | None = None
    lang: Lang | None = None
    visitor: str | None = Field(
        default=None,
        exclude=True,
        description="web presses only: a terminal press that carries one is refused (422)",
    )

    @field_validator("visitor")
    @classmethod
    def _no_visitor(cls, value: str | None) -> None:
        # The PressEvent contract's rule, enforced where the press comes in, not dropped.
        if value is not None:
            raise ValueError(TERMINAL_VISITOR)
        return None

    def to_event(self, received_at: datetime) -> PressEvent:
        return PressEvent(**self.model_dump(), received_at=received_at)


class PressBatch(BaseModel):
    """Up to the configured maximum (default 500) presses of the authenticated device."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [_PRESS_EXAMPLE]}]})

    events: list[PressIn] = Field(min_length=1)


class EventResult(BaseModel):
    index: int
    event_id: str
    status: Literal["accepted", "failed"]
    partition: int | None = None
    offset: int | None = None
    error: str | None = None


class BatchAccepted(BaseModel):
    """Every press is on the broker (acks=all): a 202 means durable."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 1,
                    "results": [
                        {
                            "index": 0,
                            "event_id": _PRESS_EXAMPLE["event_id"],
                            "status": "accepted",
                            "partition": 2,
                            "offset": 1841,
                        }
                    ],
                }
            ]
        }
    )

    accepted: int
    results: list[EventResult]


class EventError(BaseModel):
    index: int | None = Field(description="position of the event in the batch; null: the body")
    event_id: str | None = None
    field: str
    message: str
    type: str


class ProblemDetail(BaseModel):
    detail: str | list[EventError]


class WebPressIn(BaseModel):
    """A press from the web widget. The API derives ``visitor`` from ``browser_id``."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "event_id": "0c7d2a0f-1f52-4d0a-a3a6-0d1c9a6b1e55",
                    "device_id": "web-permits",
                    "button": 2,
                    "pressed_at": "2025-03-14T09:26:53.589Z",
                    "browser_id": "b7f3c1d2e4a5968778695a4b3c2d1e0f",
                    "reason": "wait_time",
                    "lang": "en",
                }
            ]
        },
    )

    event_id: UUID
    device_id: Identifier
    button: Button
    pressed_at: PressedAt = Field(
        description="browser clock, ISO-8601 string with a UTC offset, from 2000 on; at most "
        "max_future + 1 h ahead of the server's clock"
    )
    browser_id: Annotated[
        str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    ] = Field(description="random id the widget keeps in localStorage; hashed, never stored")
    reason: Reason | None = None
    lang: Lang | None = None


class WebPressAccepted(BaseModel):
    event_id: str
    status: Literal["accepted"] = "accepted"


class ReasonOut(BaseModel):
    code: str
    label: str


class QuestionOut(BaseModel):
    """What a widget or kiosk shows: the question of the device now, in one language."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "device_id": "web-permits",
                    "question_id": "q-service",
                    "lang": "pl",
                    "text": "Jak oceniasz dzisiejszą obsługę?",
                    "buttons": ["Bardzo źle", "Źle", "Dobrze", "Bardzo dobrze"],
                    "reasons": [{"code": "wait_time", "label": "Czas oczekiwania"}],
                    "reason_prompt": "Co poszło nie tak?",
                    "thanks": "Dziękujemy!",
                    "skip": "Pomiń",
                }
            ]
        }
    )

    device_id: str
    question_id: str | None
    lang: Literal["pl", "en"]
    text: str
    buttons: list[str] = Field(description="labels of buttons 1..4")
    reasons: list[ReasonOut] = Field(description="follow-up reasons offered after buttons 1-2")
    reason_prompt: str
    thanks: str
    skip: str
