"""Catalogue contract: activity intervals and question schedules resolved at pressed_at."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from civicpulse.schemas.catalogue import Catalogue

CATALOGUE: dict[str, Any] = {
    "departments": [{"department_id": "civil", "name": "Civil registry"}],
    "sites": [{"site_id": "th-1", "department_id": "civil", "name": "Town hall"}],
    "questions": [
        {
            "question_id": "q-service",
            "text": {"pl": "Jak ocenisz?", "en": "How was it?"},
            "kind": "citizen",
        },
        {"question_id": "q-wait", "text": {"pl": "Czas?", "en": "Waiting?"}, "kind": "citizen"},
        {
            "question_id": "q-day",
            "text": {"pl": "Jak dzień?", "en": "How was your day?"},
            "kind": "employee",
        },
    ],
    "devices": [
        {
            "device_id": "d1",
            "channel": "terminal",
            "site_id": "th-1",
            "department_id": "civil",
            "active_from": "2026-01-01T00:00:00Z",
            "retired_at": "2026-06-01T00:00:00Z",
            "questions": [
                {"question_id": "q-service", "valid_from": "2026-01-01T00:00:00Z"},
                {"question_id": "q-wait", "valid_from": "2026-03-01T00:00:00Z"},
            ],
        },
        {
            "device_id": "d1",
            "channel": "terminal",
            "site_id": "th-1",
            "department_id": "civil",
            "active_from": "2026-07-01T00:00:00Z",
            "questions": [{"question_id": "q-day", "valid_from": "2026-07-01T00:00:00Z"}],
        },
    ],
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.model_validate(CATALOGUE)


def test_activity_interval_is_half_open(catalogue: Catalogue) -> None:
    assert catalogue.device_at("d1", at("2025-12-31T23:59:59.999")) is None
    assert catalogue.device_at("d1", at("2026-01-01T00:00:00")) is not None
    assert catalogue.device_at("d1", at("2026-05-31T23:59:59.999")) is not None
    assert catalogue.device_at("d1", at("2026-06-01T00:00:00")) is None
    assert catalogue.device_at("nope", at("2026-02-01T00:00:00")) is None


def test_a_device_can_come_back_with_a_new_entry(catalogue: Catalogue) -> None:
    device = catalogue.device_at("d1", at("2026-08-01T00:00:00"))
    assert device is not None and device.retired_at is None


def test_question_is_the_latest_schedule_entry_not_after_the_press(catalogue: Catalogue) -> None:
    device = catalogue.device_at("d1", at("2026-02-01T00:00:00"))
    assert device is not None
    assert device.question_at(at("2026-02-28T23:59:59.999")) == "q-service"
    assert device.question_at(at("2026-03-01T00:00:00")) == "q-wait"
    assert device.question_at(at("2025-01-01T00:00:00")) is None
    assert catalogue.question_kind("q-day") == "employee"
    assert catalogue.question_kind("q-wait") == "citizen"


def test_dangling_references_are_refused_with_every_problem_listed() -> None:
    broken = {**CATALOGUE, "sites": [{"site_id": "th-1", "department_id": "x", "name": "T"}]}
    broken["devices"] = [{**CATALOGUE["devices"][0], "site_id": "th-9"}]
    with pytest.raises(ValidationError) as caught:
        Catalogue.model_validate(broken)
    message = str(caught.value)
    assert "site th-1: unknown department x" in message
    assert "device d1: unknown site th-9" in message
