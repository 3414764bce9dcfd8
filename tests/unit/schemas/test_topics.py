"""The topic catalogue: one spelling of ``alerts.<department>``, one place of value types."""

from __future__ import annotations

import pytest

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import JudgedPress, ScoreEvent
from civicpulse.schemas.topics import (
    ALERTS_ALL,
    CATALOGUE_DEVICES,
    PRESSES_ACCEPTED,
    TOPICS,
    TopicSpec,
    alert_topic_name,
    alerts_topic,
    value_models,
)


def test_a_departments_alert_topic_is_prefixed_alerts_dot_department() -> None:
    assert alert_topic_name("d-civil", "krakow.") == "krakow.alerts.d-civil"


def test_no_department_is_the_topic_of_every_department() -> None:
    assert alert_topic_name(None, "krakow.") == f"krakow.{ALERTS_ALL.name}"
    assert ALERTS_ALL.name == "alerts.all"


def test_the_topic_spec_created_for_a_department_carries_the_same_name() -> None:
    assert alerts_topic("d-civil", "p.").name == alert_topic_name("d-civil", "p.")


def test_every_catalogue_topic_names_its_value_model_once_per_contract_name() -> None:
    models = value_models()
    assert all(spec.value is not None for spec in TOPICS)
    assert set(models) == {spec.value_name for spec in TOPICS}
    assert models["JudgedPress"] is JudgedPress  # two topics carry it: listed once
    assert CATALOGUE_DEVICES.value is Catalogue
    assert CATALOGUE_DEVICES.value_name == "CatalogueRecord"  # the contract's name, not the class's


def test_one_contract_name_for_two_models_is_refused() -> None:
    clash = TopicSpec("x", 1, "k", ScoreEvent, "d", value_alias="JudgedPress")
    with pytest.raises(ValueError, match="JudgedPress"):
        value_models([PRESSES_ACCEPTED, clash])


def test_a_topic_outside_the_contract_carries_no_model_and_publishes_no_schema() -> None:
    raw = TopicSpec("bench.out", 6, "device_id", None, "bench")
    assert raw.value_name == "bytes"
    assert value_models([raw]) == {}
