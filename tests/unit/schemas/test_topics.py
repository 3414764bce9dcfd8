"""The topic catalogue's names: the one spelling of ``alerts.<department>``."""

from __future__ import annotations

from civicpulse.schemas.topics import ALERTS_ALL, alert_topic_name, alerts_topic


def test_a_departments_alert_topic_is_prefixed_alerts_dot_department() -> None:
    assert alert_topic_name("d-civil", "krakow.") == "krakow.alerts.d-civil"


def test_no_department_is_the_topic_of_every_department() -> None:
    assert alert_topic_name(None, "krakow.") == f"krakow.{ALERTS_ALL.name}"
    assert ALERTS_ALL.name == "alerts.all"


def test_the_topic_spec_created_for_a_department_carries_the_same_name() -> None:
    assert alerts_topic("d-civil", "p.").name == alert_topic_name("d-civil", "p.")
