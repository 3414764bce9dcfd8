"""Event models carried on the topics (pydantic v2). ``PressEvent`` is the v1 contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)

__all__ = [
    "ALERT_COMMENT_MAX",
    "PRESS_TIME_FLOOR",
    "TERMINAL_VISITOR",
    "AlertAction",
    "AlertCommentText",
    "AlertEvent",
    "AlertKind",
    "Button",
    "Channel",
    "DeadLetter",
    "IsoTime",
    "JudgedPress",
    "Lang",
    "PressEvent",
    "PressedAt",
    "Reason",
    "ReasonCount",
    "ScoreEvent",
    "Verdict",
    "format_utc",
    "future_problem",
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

# The fields of a press as a device sends it. The API's input models and PressEvent share them,
# so a constraint is written once.
Button = Annotated[
    int, Field(strict=True, ge=1, le=4, description="1 very unhappy .. 4 very happy")
]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Visitor = Annotated[str, StringConstraints(min_length=8, max_length=128)]

#: No device clock before this is a clock: the clock-skew rule could never count such a press.
PRESS_TIME_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
TERMINAL_VISITOR = "`visitor` is for web presses only; terminals must not send it"


def _iso_string(value: Any) -> Any:
    # JSON numbers would be read as Unix seconds (``0`` as 1970): a time is an ISO-8601 string.
    if isinstance(value, str | datetime):
        return value
    raise ValueError("a time is an ISO-8601 string with a UTC offset, e.g. 2025-03-14T09:26:53Z")


def _not_before_floor(value: datetime) -> datetime:
    if value < PRESS_TIME_FLOOR:
        raise ValueError(
            f"pressed_at {value.isoformat()} is before {PRESS_TIME_FLOOR.date()}: the device "
            "clock is not set; no press this old can be counted"
        )
    return value


#: A time as a device sends it: an ISO-8601 string with an offset, never a number.
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_string)]
#: ``pressed_at`` as the API takes it: an IsoTime no earlier than PRESS_TIME_FLOOR.
PressedAt = Annotated[IsoTime, AfterValidator(_not_before_floor)]


def future_problem(pressed_at: datetime, received_at: datetime, limit: timedelta) -> str | None:
    """Why a press is too far ahead of the receiver's clock to ever be counted, or None.

    ``limit`` is the largest ``max_future`` of the anti-spam rules plus a margin: presses within
    it go on to the stream, which judges them ``clock_skew`` or not by the rules of their site.
    """
    if pressed_at > received_at + limit:
        return (
            f"pressed_at {format_utc(pressed_at)} is more than {limit} ahead of the server's "
            f"clock ({format_utc(received_at)}): the device clock is wrong; no rule could "
            "count this press"
        )
    return None


class _Event(BaseModel):
    # Unknown fields are ignored (tolerant reader: a newer device may add one), but every known
    # field is validated strictly.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PressEvent(_Event):
    """One press of one button, as a terminal or a web widget reports it (contract v1)."""

    event_id: UUID = Field(description="UUID made at the source; the idempotency key end to end")
    channel: Channel
    device_id: Identifier
    button: Button
    pressed_at: UtcDatetime = Field(description="device clock, UTC ISO-8601 with ms")
    received_at: UtcDatetime = Field(description="set at ingest")
    visitor: Visitor | None = Field(
        default=None, description="web only: salted hash, rotated daily; never personal data"
    )
    reason: Reason | None = None
    lang: Lang | None = None

    @field_validator("pressed_at", "received_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return utc(value)

    @model_validator(mode="after")
    def _web_needs_visitor(self) -> PressEvent:
        if self.channel == "web" and self.visitor is None:
            raise ValueError("a web press must carry `visitor` (the widget's daily visitor hash)")
        if self.channel == "terminal" and self.visitor is not None:
            raise ValueError(TERMINAL_VISITOR)
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


#: What an alert is about. ``low_score`` is the original alert (and the default, so events written
#: before kinds existed still parse); ``recognition`` is a positive one (a scope above its
#: recognition threshold for a city day); ``silent_device`` is an operations alert (a device
#: that usually sends presses at this time has sent none).
AlertKind = Literal["low_score", "recognition", "silent_device"]


class AlertEvent(_Event):
    """An alert opening or resolving for a department, a site or (silent devices) a device.

    The fields keep their meaning for every kind, read as follows:

    - ``low_score``: ``score`` (rolling 15-min window ``window_start``..``window_end``, ``n``
      presses) fell below ``threshold``; ``resolved`` when the score recovered (the alert closes
      itself; the lifecycle reports it closed by ``recovered``).
    - ``recognition``: the city day ``window_start``..``window_end`` ended with ``score`` over
      ``n`` presses at or above ``threshold``; one ``opened`` event, never resolved.
    - ``silent_device``: scope ``device``; the device sent nothing from ``window_start`` (its
      last press, or the start of the opening hours) to ``window_end`` (when it was noticed);
      ``n`` is 0, ``score`` is 0 (no presses, no score), ``threshold`` is the silence limit in
      minutes, ``expected_presses`` what it sent in those hours on the reference weeks (mean);
      ``resolved`` on its next press (``at``).
    """

    alert_id: UUID
    state: Literal["opened", "resolved"]
    scope: Literal["department", "site", "device"]
    scope_id: str
    department_id: str
    mode: Literal["threshold", "confidence"]
    score: float
    n: int
    threshold: float
    window_start: UtcDatetime
    window_end: UtcDatetime
    at: UtcDatetime
    kind: AlertKind = "low_score"
    site_id: str | None = Field(
        default=None, description="the device's site (silent_device only; null otherwise)"
    )
    expected_presses: float | None = Field(
        default=None,
        description="silent_device: mean presses in the same hours of the reference weeks",
    )


#: Longest comment a person may attach to an alert (characters).
ALERT_COMMENT_MAX = 2000
AlertCommentText = Annotated[str, StringConstraints(min_length=1, max_length=ALERT_COMMENT_MAX)]


class AlertAction(_Event):
    """A person's action on an alert (topic ``alerts.actions``, key ``alert_id``).

    ``ack`` says someone is on it, ``comment`` adds a note, ``close`` ends it by hand. ``by`` is
    the name of the query-API token that made the call. A closing by recovery is not an action:
    it is the alert's own ``resolved`` event.
    """

    action_id: UUID = Field(description="made by the API; the idempotency key of the action")
    alert_id: UUID
    action: Literal["ack", "comment", "close"]
    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    comment: AlertCommentText | None = None
    at: UtcDatetime

    @field_validator("at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return utc(value)

    @model_validator(mode="after")
    def _comment_has_text(self) -> AlertAction:
        if self.action == "comment" and (self.comment is None or not self.comment.strip()):
            raise ValueError("a `comment` action needs a non-blank `comment`")
        return self


class ReasonCount(_Event):
    """The running count of one follow-up reason per department and hour, from one partition
    of presses.accepted (sum over ``partition`` for the department's figure; the latest ``n``
    per key wins: the count only grows)."""

    department_id: str
    hour_start: UtcDatetime
    reason: Reason
    partition: int = Field(ge=0)
    n: int = Field(ge=1)


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
