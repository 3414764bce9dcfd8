"""Test helpers for the stream stage: a small catalogue and press builders (no mocks)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import PressEvent
from civicpulse.stream.catalogue.index import CatalogueIndex, ResolvedPress, resolve

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
_ids = count(1)

CATALOGUE = Catalogue.model_validate(
    {
        "departments": [{"department_id": "dep-a", "name": "A"}],
        "sites": [
            {"site_id": "site-a", "department_id": "dep-a", "name": "Site A"},
            {"site_id": "site-b", "department_id": "dep-a", "name": "Site B"},
        ],
        "questions": [
            {"question_id": "q1", "text": {"pl": "p1", "en": "e1"}, "kind": "citizen"},
            {"question_id": "q2", "text": {"pl": "p2", "en": "e2"}, "kind": "citizen"},
            {"question_id": "qe", "text": {"pl": "pe", "en": "ee"}, "kind": "employee"},
        ],
        "devices": [
            {
                "device_id": "t1",
                "channel": "terminal",
                "site_id": "site-a",
                "department_id": "dep-a",
                "questions": [
                    {"question_id": "q1", "valid_from": "2026-01-01T00:00:00Z"},
                    {"question_id": "q2", "valid_from": "2026-03-03T00:00:00Z"},
                ],
                "active_from": "2026-01-01T00:00:00Z",
                "retired_at": "2026-06-01T00:00:00Z",
            },
            {
                "device_id": "t1",
                "channel": "terminal",
                "site_id": "site-b",
                "department_id": "dep-a",
                "questions": [{"question_id": "qe", "valid_from": "2026-06-01T00:00:00Z"}],
                "active_from": "2026-06-01T00:00:00Z",
            },
            {
                "device_id": "w1",
                "channel": "web",
                "site_id": "site-a",
                "department_id": "dep-a",
                "questions": [
                    {"question_id": "q1", "valid_from": "2026-01-01T00:00:00Z"},
                    {"question_id": "q2", "valid_from": "2026-03-03T00:00:00Z"},
                ],
                "active_from": "2026-01-01T00:00:00Z",
            },
        ],
    }
)
INDEX = CatalogueIndex(CATALOGUE)


def new_id() -> uuid.UUID:
    return uuid.UUID(int=next(_ids), version=4)


def event(
    at: datetime | float,
    *,
    device: str = "t1",
    received: datetime | float | None = None,
    event_id: uuid.UUID | None = None,
    visitor: str | None = None,
    button: int = 3,
    **extra: Any,
) -> PressEvent:
    """A press; ``at``/``received`` as datetimes or seconds after T0."""
    pressed = T0 + timedelta(seconds=at) if isinstance(at, int | float) else at
    if received is None:
        got = pressed
    else:
        got = T0 + timedelta(seconds=received) if isinstance(received, int | float) else received
    return PressEvent(
        event_id=event_id or new_id(),
        channel="web" if visitor is not None else "terminal",
        device_id=device,
        button=button,
        pressed_at=pressed,
        received_at=got,
        visitor=visitor,
        **extra,
    )


def press(at: datetime | float, **kwargs: Any) -> ResolvedPress:
    return resolve(event(at, **kwargs), INDEX)
