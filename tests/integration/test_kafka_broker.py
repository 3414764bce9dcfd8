"""Against the session's REAL broker: topics from the catalogue, 1,000 presses there and back."""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from civicpulse.infra.exceptions import TopicAdminError
from civicpulse.infra.topics import create_topics, ensure_alert_topics, list_topics
from civicpulse.schemas.events import PressEvent
from civicpulse.schemas.topics import CATALOGUE_DEVICES, PRESSES_RAW, TOPICS, topic_name
from tests.fixtures.kafka import KafkaEndpoint

from .readback import fresh_consumer

pytestmark = pytest.mark.integration

N_EVENTS = 1_000
N_DEVICES = 20


def test_broker_is_apache_kafka_4_1(kafka_endpoint: KafkaEndpoint) -> None:
    if kafka_endpoint.read_logs is None:
        pytest.skip("cluster from KAFKA_BOOTSTRAP: its logs are not ours to read")
    versions = re.findall(r"Kafka version: (\S+)", kafka_endpoint.read_logs())
    assert versions, "the broker never logged its version"
    assert re.fullmatch(r"4\.1\.\d+", versions[-1]), versions


def test_catalogue_topics_are_created_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    expected = sorted(topic_name(spec, topic_prefix) for spec in TOPICS)

    first = create_topics(kafka_bootstrap, topic_prefix)
    second = create_topics(kafka_bootstrap, topic_prefix)

    assert list(first.created) == expected
    assert first.existing == ()
    assert second.created == ()
    assert list(second.existing) == expected
    assert second.fewer_partitions == ()
    on_broker = list_topics(kafka_bootstrap, topic_prefix)
    assert on_broker == {topic_name(spec, topic_prefix): spec.partitions for spec in TOPICS}


def test_catalogue_topic_is_compacted(kafka_bootstrap: str, topic_prefix: str) -> None:
    create_topics(kafka_bootstrap, topic_prefix)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topic = ConfigResource.Type.TOPIC
    compacted = ConfigResource(topic, topic_name(CATALOGUE_DEVICES, topic_prefix))
    plain = ConfigResource(topic, topic_name(PRESSES_RAW, topic_prefix))
    futures = admin.describe_configs([compacted, plain])
    configs = {resource.name: future.result(timeout=30) for resource, future in futures.items()}

    assert configs[compacted.name]["cleanup.policy"].value == "compact"
    assert configs[compacted.name]["min.cleanable.dirty.ratio"].value == "0.1"
    assert configs[plain.name]["cleanup.policy"].value == "delete"


def test_alert_topics_are_created_on_demand(kafka_bootstrap: str, topic_prefix: str) -> None:
    first = ensure_alert_topics(kafka_bootstrap, ["roads", "parks", "roads"], topic_prefix)
    second = ensure_alert_topics(kafka_bootstrap, ["parks", "water"], topic_prefix)

    assert first.created == (f"{topic_prefix}alerts.parks", f"{topic_prefix}alerts.roads")
    assert second.created == (f"{topic_prefix}alerts.water",)
    assert second.existing == (f"{topic_prefix}alerts.parks",)
    with pytest.raises(TopicAdminError, match="not a legal Kafka topic name"):
        ensure_alert_topics(kafka_bootstrap, ["bad:id"], topic_prefix)


def _presses() -> list[PressEvent]:
    rng = random.Random(7)
    start = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    devices = [f"term-{i:02d}" for i in range(N_DEVICES)]
    events = []
    for i in range(N_EVENTS):
        pressed = start + timedelta(seconds=7 * i)
        events.append(
            PressEvent(
                event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                channel="terminal",
                device_id=rng.choice(devices),
                button=rng.randint(1, 4),
                pressed_at=pressed,
                received_at=pressed + timedelta(milliseconds=rng.randint(5, 900)),
            )
        )
    return events


def test_thousand_presses_round_trip_in_per_key_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    create_topics(kafka_bootstrap, topic_prefix)
    topic = topic_name(PRESSES_RAW, topic_prefix)
    events = _presses()
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"}
    )
    for event in events:
        producer.produce(
            topic, key=event.device_id, value=event.model_dump_json(), on_delivery=delivered
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []

    consumer = fresh_consumer(kafka_bootstrap, f"{topic_prefix}round-trip")
    consumer.subscribe([topic])
    received: list[tuple[str, int, PressEvent]] = []
    deadline = time.monotonic() + 60
    try:
        while len(received) < N_EVENTS and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=500, timeout=1.0):
                assert message.error() is None, message.error()
                event = PressEvent.model_validate_json(message.value())
                assert message.key().decode() == event.device_id
                received.append((event.device_id, message.partition(), event))
        # Anything beyond the 1,000 would be a duplicate: give it a moment to show up.
        received.extend(
            (m.key().decode(), m.partition(), PressEvent.model_validate_json(m.value()))
            for m in consumer.consume(num_messages=100, timeout=2.0)
        )
    finally:
        consumer.close()

    assert len(received) == N_EVENTS
    assert {e.event_id for _, _, e in received} == {e.event_id for e in events}
    assert [e for _, _, e in sorted(received, key=lambda r: str(r[2].event_id))] == sorted(
        events, key=lambda e: str(e.event_id)
    )
    produced_by_key: dict[str, list[uuid.UUID]] = defaultdict(list)
    for event in events:
        produced_by_key[event.device_id].append(event.event_id)
    consumed_by_key: dict[str, list[uuid.UUID]] = defaultdict(list)
    partitions_by_key: dict[str, set[int]] = defaultdict(set)
    for key, partition, event in received:
        consumed_by_key[key].append(event.event_id)
        partitions_by_key[key].add(partition)
    assert len(produced_by_key) == N_DEVICES
    assert consumed_by_key == produced_by_key
    assert all(len(p) == 1 for p in partitions_by_key.values())
    assert len({p for ps in partitions_by_key.values() for p in ps}) > 1
