"""Alert events and subscriptions the delivery unit tests share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from civicpulse.schemas.events import AlertEvent
from civicpulse.sink.delivery.subscriptions import Subscription

AT = datetime(2026, 12, 4, 13, 20, tzinfo=UTC)
SECRET = "a-long-shared-secret"


def alert(**changes: Any) -> AlertEvent:
    fields: dict[str, Any] = {
        "alert_id": uuid.UUID("7b0c3c52-8f0e-4c1e-9a55-3d2b7f0c9e11"),
        "state": "opened",
        "scope": "department",
        "scope_id": "d-civil",
        "department_id": "d-civil",
        "mode": "threshold",
        "score": 31.25,
        "n": 8,
        "threshold": 50.0,
        "window_start": AT - timedelta(minutes=15),
        "window_end": AT,
        "at": AT,
    }
    return AlertEvent(**{**fields, **changes})


def subscription(index: int = 1, **changes: Any) -> Subscription:
    fields: dict[str, Any] = {
        "department": "d-civil",
        "webhook": "https://hooks.example/civil",
        "secret": SECRET,
        "email": ["head@civil.example"],
        "index": index,
        "line": index,
    }
    return Subscription.model_validate({**fields, **changes})
