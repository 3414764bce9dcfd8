"""A terminal draft refuses exactly what the press contract refuses: one source of constraints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from civicpulse.producers.buffer import PressDraft
from civicpulse.schemas.events import PressEvent

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GOOD: dict[str, Any] = {"device_id": "t-1", "button": 4, "pressed_at": AT}


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("button", 1, True),
        ("button", 0, False),
        ("button", 5, False),
        ("button", "4", False),
        ("reason", "wait_time", True),
        ("reason", "", False),
        ("reason", "x" * 64, True),
        ("reason", "x" * 65, False),
        ("lang", "pl", True),
        ("lang", "en-GB", True),
        ("lang", "EN", False),
    ],
)
def test_the_draft_and_the_contract_agree(field: str, value: object, accepted: bool) -> None:
    draft_ok = event_ok = True
    try:
        PressDraft(**{**GOOD, field: value})
    except ValidationError:
        draft_ok = False
    try:
        PressEvent(
            **{**GOOD, field: value, "event_id": uuid4(), "channel": "terminal", "received_at": AT}
        )
    except ValidationError:
        event_ok = False
    assert (draft_ok, event_ok) == (accepted, accepted)
