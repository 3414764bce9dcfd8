"""ClickHouse goes away under a running sink: it waits and retries, and commits nothing unstored.

The engine is real (the session's chDB) and the outage is one the sink really sees: the
``presses`` table is detached (every insert fails: UNKNOWN_TABLE) and attached again later. The
sink runs in a thread of this process because chDB lets one process open a path; the test
watches the sink's committed offsets from outside, through the broker, for the whole outage.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from civicpulse.schemas.settings import Settings
from civicpulse.sink.batch import BatchPolicy
from civicpulse.sink.exceptions import SinkError
from civicpulse.sink.writer import Sink

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _press(i: int) -> bytes:
    at = T0 + timedelta(seconds=7 * i)
    return orjson.dumps(
        {
            "event_id": str(uuid.UUID(int=50_000 + i)), "channel": "terminal",
            "device_id": f"dev-{i % 5}", "button": 1 + i % 4,
            "pressed_at": at.isoformat().replace("+00:00", "Z"),
            "received_at": (at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
            "verdict": "counted", "site_id": "site-1", "department_id": "civil",
            "question_id": "q-visit", "question_kind": "citizen",
        }
    )  # fmt: skip


def _send(bootstrap: str, topic: str, first: int, last: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(first, last):
        producer.produce(topic, key=f"dev-{i % 5}".encode(), value=_press(i))
    assert producer.flush(30) == 0


def _committed(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(6)], timeout=10)
        return sum(max(tp.offset, 0) for tp in offsets)
    except KafkaException:
        return -1
    finally:
        consumer.close()


def _stored(client: Client) -> int:
    return int(client.query("SELECT count() FROM presses FINAL").result_rows[0][0])


@pytest.mark.parametrize("outage", [6.0, 30.0], ids=["shorter-than-retries", "longer"])
def test_the_sink_retries_through_a_clickhouse_outage_and_commits_only_what_was_stored(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    caplog: pytest.LogCaptureFixture,
    outage: float,
) -> None:
    create_test_topics()
    accepted = f"{topic_prefix}presses.accepted"
    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    group = f"sink-{uuid.uuid4().hex}"
    errors: list[BaseException] = []

    def run_sink() -> None:
        sink = Sink(settings, group_id=group, policy=BatchPolicy(50, 0.2))
        try:
            sink.run(stop_when_idle=4)
        except SinkError as exc:  # gave up: a supervisor restarts it (see below)
            errors.append(exc)

    _send(kafka_bootstrap, accepted, 0, 300)
    caplog.set_level(logging.WARNING, logger="civicpulse.sink.writer")
    thread = threading.Thread(target=run_sink, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while _committed(kafka_bootstrap, group, accepted) < 300:
        assert time.monotonic() < deadline, "the sink stored nothing within 60 s"
        time.sleep(0.2)
    before = _stored(clickhouse_client)
    assert before == 300

    clickhouse_client.command("DETACH TABLE presses")
    try:
        _send(kafka_bootstrap, accepted, 300, 600)
        end = time.monotonic() + outage
        while time.monotonic() < end:  # nothing past what is stored is ever committed
            assert _committed(kafka_bootstrap, group, accepted) <= before
            time.sleep(0.25)
    finally:
        clickhouse_client.command("ATTACH TABLE presses")
    assert any("retrying" in r.getMessage() for r in caplog.records), "no retry was logged"

    thread.join(120)
    if errors:  # the outage outlasted the retries: the sink stopped with nothing committed
        assert outage > 15 and "Offsets are not committed" in str(errors[0])
        assert _committed(kafka_bootstrap, group, accepted) == before
        errors.clear()
        thread = threading.Thread(target=run_sink, daemon=True)  # the supervisor's restart
        thread.start()
        thread.join(120)
    else:
        assert outage < 15, "a 30 s outage should outlast the sink's retries (about 15 s)"
    assert not errors
    assert _committed(kafka_bootstrap, group, accepted) == 600
    assert _stored(clickhouse_client) == 600
    assert clickhouse_client.query(
        "SELECT count(), uniqExact(event_id) FROM presses FINAL"
    ).result_rows[0] == (600, 600)
