"""Row mapping: topic message -> validated event model -> ClickHouse row, in one place.

Each sunk topic has a :class:`Route`: the topic (whose catalogue entry names the event model its
values must satisfy), the table and the column order. :func:`decode_row` is pure; a value it
refuses raises :class:`RowError` with a reason fit for the dead-letter topic. Values are
validated with pydantic's own JSON parser (``model_validate_json``): measured faster here than
``orjson.loads`` + ``model_validate``, and it is the same strict contract the producers use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from civicpulse.schemas.events import AlertAction, AlertEvent, JudgedPress, ReasonCount, ScoreEvent
from civicpulse.schemas.topics import (
    ALERTS_ACTIONS,
    ALERTS_ALL,
    PRESSES_ACCEPTED,
    PRESSES_REJECTED,
    REASONS,
    SCORES,
    TopicSpec,
)
from civicpulse.sink.exceptions import SinkError

__all__ = [
    "ACTION_COLUMNS",
    "ALERT_COLUMNS",
    "PRESS_COLUMNS",
    "REASON_COLUMNS",
    "ROUTES",
    "SCORE_COLUMNS",
    "Route",
    "RowError",
    "action_row",
    "alert_row",
    "decode_row",
    "press_row",
    "reason_row",
    "score_row",
]

PRESS_COLUMNS: tuple[str, ...] = (
    "event_id",
    "channel",
    "device_id",
    "button",
    "pressed_at",
    "received_at",
    "visitor",
    "reason",
    "lang",
    "verdict",
    "site_id",
    "department_id",
    "question_id",
    "question_kind",
)
SCORE_COLUMNS: tuple[str, ...] = (
    "scope",
    "scope_id",
    "kind",
    "window",
    "window_start",
    "window_end",
    "n",
    "n1",
    "n2",
    "n3",
    "n4",
    "score",
    "positive_share",
)
ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "state",
    "scope",
    "scope_id",
    "department_id",
    "mode",
    "score",
    "n",
    "threshold",
    "window_start",
    "window_end",
    "at",
    "kind",
    "site_id",
    "expected_presses",
)
ACTION_COLUMNS: tuple[str, ...] = ("action_id", "alert_id", "action", "by", "comment", "at")
REASON_COLUMNS: tuple[str, ...] = ("department_id", "hour_start", "reason", "partition", "n")

# DateTime64(3) holds 1900-01-01 .. 2299-12-31; the driver would silently wrap values outside.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2300, 1, 1, tzinfo=UTC)
_UINT32_MAX = 2**32 - 1


class RowError(SinkError):
    """A message that cannot become a row; the reason goes to the dead-letter topic."""


def _moment(value: datetime, field: str) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise RowError(f"{field} {value.isoformat()} is outside the storable range 1900..2299")
    return value


def _count(value: int, field: str) -> int:
    if value > _UINT32_MAX:
        raise RowError(f"{field} = {value} does not fit UInt32")
    return value


def press_row(press: JudgedPress) -> tuple[Any, ...]:
    """A judged press as a ``presses`` row (order of :data:`PRESS_COLUMNS`)."""
    return (
        press.event_id,
        press.channel,
        press.device_id,
        press.button,
        _moment(press.pressed_at, "pressed_at"),
        _moment(press.received_at, "received_at"),
        press.visitor,
        press.reason,
        press.lang,
        press.verdict,
        press.site_id,
        press.department_id,
        press.question_id,
        press.question_kind,
    )


def score_row(score: ScoreEvent) -> tuple[Any, ...]:
    """A closed-window score as a ``scores`` row (order of :data:`SCORE_COLUMNS`)."""
    return (
        score.scope,
        score.scope_id,
        score.kind,
        score.window,
        _moment(score.window_start, "window_start"),
        _moment(score.window_end, "window_end"),
        _count(score.n, "n"),
        _count(score.n1, "n1"),
        _count(score.n2, "n2"),
        _count(score.n3, "n3"),
        _count(score.n4, "n4"),
        score.score,
        score.positive_share,
    )


def alert_row(alert: AlertEvent) -> tuple[Any, ...]:
    """An alert event as an ``alerts`` row (order of :data:`ALERT_COLUMNS`)."""
    return (
        alert.alert_id,
        alert.state,
        alert.scope,
        alert.scope_id,
        alert.department_id,
        alert.mode,
        alert.score,
        _count(alert.n, "n"),
        alert.threshold,
        _moment(alert.window_start, "window_start"),
        _moment(alert.window_end, "window_end"),
        _moment(alert.at, "at"),
        alert.kind,
        alert.site_id,
        alert.expected_presses,
    )


def action_row(action: AlertAction) -> tuple[Any, ...]:
    """An alert action as an ``alert_actions`` row (order of :data:`ACTION_COLUMNS`)."""
    return (
        action.action_id,
        action.alert_id,
        action.action,
        action.by,
        action.comment,
        _moment(action.at, "at"),
    )


def reason_row(count: ReasonCount) -> tuple[Any, ...]:
    """A reason count as a ``reasons`` row (order of :data:`REASON_COLUMNS`)."""
    return (
        count.department_id,
        _moment(count.hour_start, "hour_start"),
        count.reason,
        count.partition,
        _count(count.n, "n"),
    )


@dataclass(frozen=True)
class Route:
    """Where the values of one topic go; they must satisfy the topic's value model."""

    topic: TopicSpec
    table: str
    columns: Sequence[str]
    to_row: Callable[[Any], tuple[Any, ...]]
    model: type[BaseModel] = field(init=False)

    def __post_init__(self) -> None:
        if self.topic.value is None:
            raise ValueError(f"topic {self.topic.name} has no value model to validate rows with")
        # frozen: the model is the topic's, set once here so decoding reads a plain attribute
        object.__setattr__(self, "model", self.topic.value)


#: Routes by logical topic name.
ROUTES: dict[str, Route] = {
    route.topic.name: route
    for route in (
        Route(PRESSES_ACCEPTED, "presses", PRESS_COLUMNS, press_row),
        Route(PRESSES_REJECTED, "presses", PRESS_COLUMNS, press_row),
        Route(SCORES, "scores", SCORE_COLUMNS, score_row),
        Route(ALERTS_ALL, "alerts", ALERT_COLUMNS, alert_row),
        Route(REASONS, "reasons", REASON_COLUMNS, reason_row),
        Route(ALERTS_ACTIONS, "alert_actions", ACTION_COLUMNS, action_row),
    )
}


def decode_row(route: Route, value: bytes | None) -> tuple[Any, ...]:
    """Validate one message value against the route's model and map it to a row."""
    if value is None:
        raise RowError("message has no value (tombstone)")
    try:
        event = route.model.model_validate_json(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise RowError(f"not a valid {route.model.__name__}: {problems}") from exc
    return route.to_row(event)
