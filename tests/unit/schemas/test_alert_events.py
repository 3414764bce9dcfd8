"""Alert kinds and alert actions: old alert events still parse, actions are bounded."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from civicpulse.schemas.asyncapi import json_schemas
from civicpulse.schemas.events import ALERT_COMMENT_MAX, AlertAction, AlertEvent
from civicpulse.schemas.topics import ALERTS_ACTIONS, TOPICS

# An alert event exactly as the stream wrote it before alert kinds existed.
ALERT_ID = "5d0c7f43-6c1b-4f0e-9a53-0d6c8b3f1e21"
OLD_ALERT: dict[str, Any] = {
    "alert_id": ALERT_ID,
    "state": "opened",
    "scope": "department",
    "scope_id": "d-civil",
    "department_id": "d-civil",
    "mode": "threshold",
    "score": 41.7,
    "n": 8,
    "threshold": 60.0,
    "window_start": "2026-11-23T09:00:00.000Z",
    "window_end": "2026-11-23T09:15:00.000Z",
    "at": "2026-11-23T09:15:01.020Z",
}


def action(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "action_id": "9a3e3f0e-1d2b-4c55-8f0a-7b1c2d3e4f50",
        "alert_id": ALERT_ID,
        "action": "ack",
        "by": "head-of-civil",
        "at": "2026-11-23T09:20:00.000+01:00",
    }
    base.update(overrides)
    return base


def test_an_alert_event_written_before_kinds_is_a_low_score_alert() -> None:
    alert = AlertEvent.model_validate_json(orjson.dumps(OLD_ALERT))
    assert (alert.kind, alert.site_id, alert.expected_presses) == ("low_score", None, None)


def test_a_silent_device_alert_has_device_scope_and_other_kinds_are_refused() -> None:
    silent = {**OLD_ALERT, "kind": "silent_device", "scope": "device", "scope_id": "kiosk-1"}
    assert AlertEvent.model_validate(silent).scope == "device"
    with pytest.raises(ValidationError, match="kind"):
        AlertEvent.model_validate({**OLD_ALERT, "kind": "birthday"})


def test_an_action_is_normalised_to_utc_and_round_trips() -> None:
    parsed = AlertAction.model_validate_json(orjson.dumps(action()))
    assert parsed.at.utcoffset() == timedelta(0)
    wire = orjson.loads(parsed.model_dump_json())
    assert wire["at"] == "2026-11-23T08:20:00.000Z"
    assert AlertAction.model_validate(wire) == parsed
    assert parsed.alert_id == uuid.UUID(ALERT_ID)


def test_a_comment_action_needs_text_and_a_comment_is_bounded() -> None:
    with pytest.raises(ValidationError, match="non-blank"):
        AlertAction.model_validate(action(action="comment"))
    with pytest.raises(ValidationError, match="non-blank"):
        AlertAction.model_validate(action(action="comment", comment="   "))
    long_enough = "x" * ALERT_COMMENT_MAX
    assert AlertAction.model_validate(action(action="comment", comment=long_enough)).comment
    with pytest.raises(ValidationError, match="at most"):
        AlertAction.model_validate(action(action="comment", comment=long_enough + "x"))
    with pytest.raises(ValidationError, match="action"):
        AlertAction.model_validate(action(action="reopen"))


def test_the_actions_topic_is_created_and_its_value_has_a_schema() -> None:
    assert ALERTS_ACTIONS in TOPICS
    assert (ALERTS_ACTIONS.name, ALERTS_ACTIONS.key) == ("alerts.actions", "alert_id")
    schema = json_schemas()[ALERTS_ACTIONS.value_name]
    assert schema["properties"]["action"]["enum"] == ["ack", "comment", "close"]
