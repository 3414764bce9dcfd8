"""Event models carried on the topics (pydantic v2). ``PressEvent`` is the v1 contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)

__all__ = [
    "AlertEvent",
    "Channel",
    "DeadLetter",
    "JudgedPress",
    "PressEvent",
    "ScoreEvent",
    "Verdict",
    "format_utc",
    "utc",
]

Channel = Literal["terminal", "web"]
Verdict = Literal[
    "counted", "unknown_device", "duplicate", "clock_skew", "burst", "repeat", "visitor_limit"
]
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]


def format_utc(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a ``Z``: the wire form of every timestamp."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDatetime = Annotated[
    AwareDatetime, PlainSerializer(format_utc, return_type=str, when_used="json")
]


class _Event(BaseModel):
    # Unknown fields are ignored (tolerant reader: a newer device may add one), but every known
    # field is validated strictly.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PressEvent(_Event):
    """One press of one button, as a terminal or a web widget reports it (contract v1)."""

    event_id: UUID = Field(description="UUID made at the source; the idempotency key end to end")
    channel: Channel
    device_id: Identifier
    button: Annotated[int, Field(strict=True, ge=1, le=4)] = Field(
        description="1 very unhappy .. 4 very happy"
    )
    pressed_at: UtcDatetime = Field(description="device clock, UTC ISO-8601 with ms")
    received_at: UtcDatetime = Field(description="set at ingest")
    visitor: Annotated[str, StringConstraints(min_length=8, max_length=128)] | None = Field(
        default=None, description="web only: salted hash, rotated daily; never personal data"
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    lang: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None

    @field_validator("pressed_at", "received_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return utc(value)

    @model_validator(mode="after")
    def _web_needs_visitor(self) -> PressEvent:
        if self.channel == "web" and self.visitor is None:
            raise ValueError("a web press must carry `visitor` (the widget's daily visitor hash)")
        if self.channel == "terminal" and self.visitor is not None:
            raise ValueError("`visitor` is for web presses only; terminals must not send it")
        return self


class JudgedPress(PressEvent):
    """A press after enrichment and anti-spam: the value of presses.accepted and .rejected."""

    verdict: Verdict
    site_id: str | None = None
    department_id: str | None = None
    question_id: str | None = None
    question_kind: Literal["citizen", "employee"] | None = None


class ScoreEvent(_Event):
    """The score of one closed window of one scope."""

    scope: Literal["device", "site", "department", "question", "city"]
    scope_id: str
    kind: Literal["citizen", "employee"] = "citizen"
    window: Literal["15m", "1h", "1d"]
    window_start: UtcDatetime
    window_end: UtcDatetime
    n: int = Field(ge=0)
    n1: int = Field(ge=0)
    n2: int = Field(ge=0)
    n3: int = Field(ge=0)
    n4: int = Field(ge=0)
    score: float | None = Field(description="100 * mean((button-1)/3); null when n = 0")
    positive_share: float | None

    @model_validator(mode="after")
    def _counts_add_up(self) -> ScoreEvent:
        if self.n1 + self.n2 + self.n3 + self.n4 != self.n:
            raise ValueError("n must equal n1 + n2 + n3 + n4")
        return self


class AlertEvent(_Event):
    """A low-score alert opening or resolving for a department or a site."""

    alert_id: UUID
    state: Literal["opened", "resolved"]
    scope: Literal["department", "site"]
    scope_id: str
    department_id: str
    mode: Literal["threshold", "confidence"]
    score: float
    n: int
    threshold: float
    window_start: UtcDatetime
    window_end: UtcDatetime
    at: UtcDatetime


class DeadLetter(_Event):
    """Input that could not be processed, kept whole with the reason."""

    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    payload: str = Field(description="the original bytes, decoded as UTF-8 with replacement")
    error: str
    stage: str
    at: UtcDatetime

    @classmethod
    def of(cls, payload: bytes | str, error: str, stage: str, **where: Any) -> DeadLetter:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        return cls(payload=text, error=error, stage=stage, at=datetime.now(UTC), **where)
