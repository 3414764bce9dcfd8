"""Row mapping from event models to table columns (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from civicpulse.schemas.topics import TopicSpec
from civicpulse.sink.rows import (
    ALERT_COLUMNS,
    PRESS_COLUMNS,
    ROUTES,
    SCORE_COLUMNS,
    Route,
    RowError,
    decode_row,
    press_row,
)

PRESS = {
    "event_id": "8d3c6c1e-8a4f-4b8e-9c61-1b2f9c0e7a10",
    "channel": "web",
    "device_id": "web-widget-1",
    "button": 4,
    "pressed_at": "2026-03-01T10:00:00.123Z",
    "received_at": "2026-03-01T10:00:00.523Z",
    "visitor": "a1b2c3d4e5f6",
    "lang": "pl",
    "verdict": "counted",
    "site_id": "town-hall-1",
    "department_id": "civil-registry",
    "question_id": "q-visit",
    "question_kind": "citizen",
}


def test_press_maps_every_column_in_order() -> None:
    row = decode_row(ROUTES["presses.accepted"], orjson.dumps(PRESS))
    mapped = dict(zip(PRESS_COLUMNS, row, strict=True))
    assert mapped["event_id"] == uuid.UUID(PRESS["event_id"])  # type: ignore[arg-type]
    assert mapped["pressed_at"] == datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert mapped["reason"] is None
    for column in set(PRESS_COLUMNS) - {"event_id", "pressed_at", "received_at", "reason"}:
        assert mapped[column] == PRESS[column], column


def test_rejected_presses_go_to_the_same_table() -> None:
    assert ROUTES["presses.rejected"].table == ROUTES["presses.accepted"].table == "presses"


def test_score_and_alert_rows() -> None:
    score = {
        "scope": "site", "scope_id": "town-hall-1", "kind": "citizen", "window": "1h",
        "window_start": "2026-03-01T10:00:00.000Z", "window_end": "2026-03-01T11:00:00.000Z",
        "n": 3, "n1": 0, "n2": 1, "n3": 1, "n4": 1, "score": 77.8, "positive_share": 0.667,
    }  # fmt: skip
    row = decode_row(ROUTES["scores"], orjson.dumps(score))
    assert dict(zip(SCORE_COLUMNS, row, strict=True))["window"] == "1h"
    alert = {
        "alert_id": str(uuid.uuid4()), "state": "opened", "scope": "department",
        "scope_id": "tax", "department_id": "tax", "mode": "confidence", "score": 20.0, "n": 6,
        "threshold": 50.0, "window_start": "2026-03-01T10:00:00Z",
        "window_end": "2026-03-01T10:15:00Z", "at": "2026-03-01T10:15:01Z",
    }  # fmt: skip
    row = decode_row(ROUTES["alerts.all"], orjson.dumps(alert))
    assert len(row) == len(ALERT_COLUMNS)
    assert dict(zip(ALERT_COLUMNS, row, strict=True))["mode"] == "confidence"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "tombstone"),
        (b"{not json", "not a valid JudgedPress"),
        (orjson.dumps({**PRESS, "button": 7}), "button: Input should be less than or equal to 4"),
        (orjson.dumps({**PRESS, "verdict": "maybe"}), "verdict"),
        (orjson.dumps({k: v for k, v in PRESS.items() if k != "visitor"}), "visitor"),
        (orjson.dumps({**PRESS, "pressed_at": "2400-01-01T00:00:00Z"}), "outside the storable"),
    ],
)
def test_invalid_values_are_refused_with_a_reason(value: bytes | None, reason: str) -> None:
    with pytest.raises(RowError, match=reason):
        decode_row(ROUTES["presses.accepted"], value)


def test_counts_beyond_uint32_are_refused() -> None:
    big = 2**32
    score = {
        "scope": "city", "scope_id": "city", "window": "1d",
        "window_start": "2026-03-01T00:00:00Z", "window_end": "2026-03-02T00:00:00Z",
        "n": big, "n1": big, "n2": 0, "n3": 0, "n4": 0, "score": 0.0, "positive_share": 0.0,
    }  # fmt: skip
    with pytest.raises(RowError, match="does not fit UInt32"):
        decode_row(ROUTES["scores"], orjson.dumps(score))


def test_each_route_validates_with_its_topics_value_model() -> None:
    for logical, route in ROUTES.items():
        assert route.topic.name == logical
        assert route.model is route.topic.value


def test_a_route_needs_a_topic_with_a_value_model() -> None:
    raw = TopicSpec("bench.out", 6, "device_id", None, "bench")
    with pytest.raises(ValueError, match=r"bench\.out has no value model"):
        Route(raw, "presses", PRESS_COLUMNS, press_row)
