"""PressEvent v1 and friends: what is accepted, what is refused, and how precisely."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from civicpulse.schemas.events import DeadLetter, JudgedPress, PressEvent, ScoreEvent, format_utc


def press(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "0b8a4f6e-3f5c-4c1e-9d57-6a1f0c2b9e11",
        "channel": "terminal",
        "device_id": "th-1-desk-3",
        "button": 4,
        "pressed_at": "2026-11-23T09:15:02.123Z",
        "received_at": "2026-11-23T09:15:02.456Z",
    }
    base.update(overrides)
    return base


def errors_of(payload: dict[str, Any]) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as caught:
        PressEvent.model_validate_json(orjson.dumps(payload))
    return caught.value.errors()


def test_valid_terminal_press_round_trips_byte_for_byte_in_wire_format() -> None:
    event = PressEvent.model_validate_json(orjson.dumps(press()))
    assert event.event_id == uuid.UUID("0b8a4f6e-3f5c-4c1e-9d57-6a1f0c2b9e11")
    assert event.pressed_at == datetime(2026, 11, 23, 9, 15, 2, 123000, tzinfo=UTC)
    wire = orjson.loads(event.model_dump_json(exclude_none=True))
    assert wire == press()


def test_offsets_other_than_utc_are_normalised_to_utc() -> None:
    event = PressEvent.model_validate_json(
        orjson.dumps(press(pressed_at="2026-11-23T10:15:02.123+01:00"))
    )
    assert event.pressed_at.tzinfo is not None
    assert event.pressed_at.utcoffset() == timedelta(0)
    assert format_utc(event.pressed_at) == "2026-11-23T09:15:02.123Z"


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("channel", "kiosk", "literal_error"),
        ("button", 0, "greater_than_equal"),
        ("button", 5, "less_than_equal"),
        ("button", "3", "int_type"),
        ("button", 2.5, "int_type"),
        ("event_id", "not-a-uuid", "uuid_parsing"),
        ("pressed_at", "2026-11-23T09:15:02.123", "timezone_aware"),
        ("received_at", "yesterday", "datetime_from_date_parsing"),
        ("device_id", "", "string_too_short"),
        ("device_id", "desk 3; DROP TABLE", "string_pattern_mismatch"),
    ],
)
def test_invalid_fields_are_refused_with_the_field_named(
    field: str, value: object, error_type: str
) -> None:
    errors = errors_of(press(**{field: value}))
    assert [(e["loc"], e["type"]) for e in errors] == [((field,), error_type)]


@pytest.mark.parametrize("missing", ["event_id", "channel", "device_id", "button", "pressed_at"])
def test_required_fields(missing: str) -> None:
    payload = press()
    del payload[missing]
    assert [(e["loc"], e["type"]) for e in errors_of(payload)] == [((missing,), "missing")]


def test_web_press_needs_a_visitor_and_terminal_press_must_not_send_one() -> None:
    (web_error,) = errors_of(press(channel="web"))
    assert "must carry `visitor`" in web_error["msg"]
    (terminal_error,) = errors_of(press(visitor="a" * 16))
    assert "web presses only" in terminal_error["msg"]
    ok = PressEvent.model_validate(
        press(channel="web", visitor="f" * 32, lang="pl", reason="queue")
    )
    assert ok.visitor == "f" * 32


def test_unknown_fields_are_ignored_so_newer_devices_do_not_break_ingest() -> None:
    event = PressEvent.model_validate(press(firmware="2.1"))
    assert "firmware" not in event.model_dump()


def test_judged_press_extends_the_press_with_verdict_and_resolution() -> None:
    judged = JudgedPress.model_validate(
        press(verdict="counted", site_id="th-1", department_id="civil", question_id="q1")
    )
    assert judged.verdict == "counted"
    with pytest.raises(ValidationError):
        JudgedPress.model_validate(press(verdict="maybe"))


def test_score_counts_must_add_up() -> None:
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    fields: dict[str, Any] = {
        "scope": "site",
        "scope_id": "th-1",
        "window": "1h",
        "window_start": start,
        "window_end": start + timedelta(hours=1),
        "n1": 1,
        "n2": 0,
        "n3": 1,
        "n4": 2,
        "score": 75.0,
        "positive_share": 0.75,
    }
    assert ScoreEvent(n=4, **fields).n == 4
    with pytest.raises(ValidationError, match="n must equal"):
        ScoreEvent(n=5, **fields)


def test_dead_letter_keeps_undecodable_bytes_readable() -> None:
    letter = DeadLetter.of(b"\xff{oops", "not JSON", "antispam", source_topic="presses.raw")
    assert letter.payload.endswith("{oops")
    assert letter.at.tzinfo is not None
    assert orjson.loads(letter.model_dump_json())["error"] == "not JSON"


def test_format_utc_keeps_milliseconds_and_zulu() -> None:
    moment = datetime(2026, 3, 29, 3, 0, 0, 7000, tzinfo=timezone(timedelta(hours=2)))
    assert format_utc(moment) == "2026-03-29T01:00:00.007Z"
