"""Recognition through the real worker: a desk whose whole city day is happy gets its site and
its department one recognition each on alerts.all once the day closes; nothing else alerts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from civicpulse.infra.topics import TopicReport
from civicpulse.schemas.topics import ALERTS_ALL, CATALOGUE_DEVICES, PRESSES_RAW, topic_name
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue

from .stream_worker import Collector, produce, start_worker

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 1, 23, tzinfo=UTC)  # 2026-03-02 00:00 in Warsaw
DESK = "civil-registry-srodmiescie-desk-1"


def _press(i: int, at: datetime, button: int) -> tuple[bytes, bytes]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    value = {
        "event_id": str(uuid.UUID(int=500 + i)),
        "channel": "terminal",
        "device_id": DESK,
        "button": button,
        "pressed_at": stamp,
        "received_at": stamp,
    }
    return DESK.encode(), orjson.dumps(value)


def test_a_happy_day_is_recognised_when_it_closes(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
) -> None:
    create_test_topics()
    sim = Simulation(PRESETS["demo"], DAY, timedelta(hours=1), 0.05, 7)
    publish_catalogue(kafka_bootstrap, topic_name(CATALOGUE_DEVICES, topic_prefix), sim.catalogue())
    # 42 presses 10 minutes apart from 08:00 local, "very happy" but three "happy" ones
    opening = DAY + timedelta(hours=8)
    buttons = [4 if i % 20 else 3 for i in range(42)]
    presses = [_press(i, opening + timedelta(minutes=10 * i), b) for i, b in enumerate(buttons)]
    presses.append(_press(99, DAY + timedelta(days=1, minutes=10), 2))  # next day: the day closes
    produce(kafka_bootstrap, topic_name(PRESSES_RAW, topic_prefix), presses)
    alerts_topic = topic_name(ALERTS_ALL, topic_prefix)
    collector = Collector(kafka_bootstrap, [alerts_topic])
    worker = start_worker(kafka_bootstrap, topic_prefix, tmp_path / "w")
    try:
        collector.until(lambda: len(collector.messages[alerts_topic]) >= 2, 90, worker)
        collector.settle(alerts_topic, quiet=5, timeout=30)
    finally:
        worker.stop()
        collector.close()
    alerts = collector.values(alerts_topic)
    got = sorted((a["kind"], a["state"], a["scope"], a["scope_id"], a["n"]) for a in alerts)
    assert got == [
        ("recognition", "opened", "department", "civil-registry", 42),
        ("recognition", "opened", "site", "civil-registry-srodmiescie", 42),
    ]
    for alert in alerts:
        assert alert["score"] == pytest.approx(100 * sum(b - 1 for b in buttons) / (3 * 42))
        assert (alert["threshold"], alert["window_start"]) == (85.0, "2026-03-01T23:00:00.000Z")
        assert alert["window_end"] == "2026-03-02T23:00:00.000Z"
