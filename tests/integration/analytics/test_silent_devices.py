"""Silent devices on the real engine and the real broker: the check finds the desk that usually
presses now and has not, sends one alert event to both alert topics, keeps quiet about desks
that are usually quiet, web widgets and closed sites, and resolves the alert on the next press."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.analytics.silent_watch import SilentWatch
from civicpulse.schemas.events import AlertEvent, JudgedPress
from civicpulse.schemas.settings import Settings
from civicpulse.sink.rows import ALERT_COLUMNS, alert_row

from .data import insert_presses

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # Monday 11:30 in Warsaw
_ids = count(1)


def press(device: str, at: datetime, channel: str = "terminal") -> JudgedPress:
    return JudgedPress.model_validate(
        {
            "event_id": uuid.UUID(int=next(_ids)),
            "channel": channel,
            "device_id": device,
            "button": 3,
            "pressed_at": at,
            "received_at": at,
            "visitor": "v" * 16 if channel == "web" else None,
            "verdict": "counted",
            "site_id": "town-hall" if device != "desk-far" else "far-office",
            "department_id": "civil",
        }
    )


def usual_mornings(device: str, weeks: list[int], channel: str = "terminal") -> list[JudgedPress]:
    """Presses at 11:10 and 11:20 local (10:10, 10:20 UTC in winter) on the given weeks ago."""
    return [
        press(device, NOW - timedelta(weeks=k, minutes=minutes), channel)
        for k in weeks
        for minutes in (10, 20)
    ]


def _read(bootstrap: str, topic: str, expect: int) -> list[tuple[bytes, AlertEvent]]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[tuple[bytes, AlertEvent]] = []
    try:
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append((message.key(), AlertEvent.model_validate_json(message.value())))
            if len(found) >= expect:
                extra = consumer.poll(1.0)  # one more look: more would be a bug too
                if extra is not None and extra.error() is None:
                    found.append((extra.key(), AlertEvent.model_validate_json(extra.value())))
                break
    finally:
        consumer.close()
    return found


def test_a_usually_busy_desk_gone_quiet_raises_one_alert_and_its_next_press_resolves_it(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
) -> None:
    create_test_topics()
    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    last_press = NOW - timedelta(minutes=50)
    presses = [
        *usual_mornings("desk-1", [1, 2, 3]),  # busy every Monday morning ...
        press("desk-1", last_press),  # ... and quiet since 10:40 local today
        *usual_mornings("desk-2", [2]),  # pressed on one Monday only: quiet is normal
        *usual_mornings("desk-3", [1, 2, 3]),
        press("desk-3", NOW - timedelta(minutes=5)),  # busy and pressing: fine
        *usual_mornings("kiosk-web", [1, 2, 3], channel="web"),  # a widget is no terminal
        *usual_mornings("desk-far", [1, 2, 3]),  # its site is closed now (below)
    ]
    insert_presses(clickhouse_client, presses)
    watch = SilentWatch(settings, clickhouse_client, open_at=lambda site, _at: site != "far-office")

    events = watch.check(NOW)
    assert [(e.scope_id, e.state, e.kind) for e in events] == [
        ("desk-1", "opened", "silent_device")
    ]
    opened = events[0]
    assert (opened.window_start, opened.at, opened.site_id, opened.expected_presses) == (
        last_press,
        NOW,
        "town-hall",
        2.0,
    )
    watch.send(events)
    for topic in (f"{topic_prefix}alerts.all", f"{topic_prefix}alerts.civil"):
        assert _read(kafka_bootstrap, topic, 1) == [(b"device:desk-1", opened)]

    # stored by the sink: the next check finds the silence open and sends nothing new
    clickhouse_client.insert("alerts", [alert_row(opened)], column_names=list(ALERT_COLUMNS))
    assert watch.check(NOW + timedelta(minutes=1)) == []

    back_at = NOW + timedelta(minutes=7)
    insert_presses(
        clickhouse_client,
        [press("desk-1", back_at), press("desk-1", back_at + timedelta(minutes=1))],
    )
    back = watch.check(NOW + timedelta(minutes=9))
    assert [(e.alert_id, e.state, e.at) for e in back] == [(opened.alert_id, "resolved", back_at)]
