"""The Kafka client factory: configurations per role (pure), and real clients built offline."""

from __future__ import annotations

from typing import get_args

import pytest

from civicpulse.infra.exceptions import KafkaClientConfigError
from civicpulse.infra.kafka_clients import (
    ADMIN_ROLES,
    CONSUMER_ROLES,
    PRODUCER_ROLES,
    AdminRole,
    ConsumerRole,
    ProducerRole,
    admin_config,
    consumer,
    consumer_config,
    producer,
    producer_config,
)
from civicpulse.schemas.settings import Settings

SETTINGS = Settings(kafka_bootstrap="10.0.0.1:9092")


def test_the_role_tables_list_exactly_the_roles_the_types_name() -> None:
    assert set(PRODUCER_ROLES) == set(get_args(ProducerRole))
    assert set(CONSUMER_ROLES) == set(get_args(ConsumerRole))
    assert set(ADMIN_ROLES) == set(get_args(AdminRole))


@pytest.mark.parametrize("role", get_args(ProducerRole))
def test_every_producer_is_idempotent_with_acks_all_lz4_and_a_reconnect_cap(
    role: ProducerRole,
) -> None:
    config = producer_config(SETTINGS, role)
    assert config["bootstrap.servers"] == "10.0.0.1:9092"
    assert config["client.id"] == f"civicpulse-{role}"
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["compression.type"] == "lz4"
    assert config["reconnect.backoff.max.ms"] == 2_000


@pytest.mark.parametrize("role", ["terminal", "ingest", "simulator", "bench"])
def test_press_producers_give_up_within_a_bound(role: ProducerRole) -> None:
    config = producer_config(SETTINGS, role)
    assert config["delivery.timeout.ms"] <= 30_000
    assert config["socket.connection.setup.timeout.ms"] <= config["delivery.timeout.ms"]


def test_the_ingest_api_answers_within_ten_seconds() -> None:
    assert producer_config(SETTINGS, "ingest")["delivery.timeout.ms"] == 10_000


@pytest.mark.parametrize("role", ["catalogue", "stream", "sink"])
def test_outputs_flushed_before_a_commit_keep_librdkafkas_delivery_timeout(
    role: ProducerRole,
) -> None:
    assert "delivery.timeout.ms" not in producer_config(SETTINGS, role)


def test_the_intentional_differences_are_the_role_tables() -> None:
    assert producer_config(SETTINGS, "terminal")["linger.ms"] == 5
    assert producer_config(SETTINGS, "sink")["linger.ms"] == 20
    assert producer_config(SETTINGS, "simulator")["linger.ms"] == 20
    assert producer_config(SETTINGS, "stream")["queue.buffering.max.messages"] == 1_000_000


def test_overrides_win_over_the_role() -> None:
    config = producer_config(SETTINGS, "terminal", {"client.id": "terminal-d1", "linger.ms": 0})
    assert config["client.id"] == "terminal-d1"
    assert config["linger.ms"] == 0
    assert config["enable.idempotence"] is True


def test_a_bootstrap_string_stands_for_settings() -> None:
    assert producer_config("h:1", "stream")["bootstrap.servers"] == "h:1"
    assert consumer_config("h:1", "g", "catalogue")["bootstrap.servers"] == "h:1"


@pytest.mark.parametrize("role", get_args(ConsumerRole))
def test_every_consumer_commits_on_purpose_and_starts_at_the_earliest_offset(
    role: ConsumerRole,
) -> None:
    config = consumer_config(SETTINGS, "group-1", role)
    assert config["group.id"] == "group-1"
    assert config["client.id"] == f"civicpulse-{role}"
    assert config["enable.auto.commit"] is False
    assert config["auto.offset.reset"] == "earliest"
    assert config["reconnect.backoff.max.ms"] == 2_000


def test_the_sink_reads_committed_and_hands_partitions_on_after_ten_seconds() -> None:
    config = consumer_config(SETTINGS, "civicpulse-sink", "sink")
    assert config["isolation.level"] == "read_committed"
    assert config["session.timeout.ms"] == 10_000


def test_the_alert_stream_sees_the_end_of_a_partition() -> None:
    assert consumer_config(SETTINGS, "g", "alert-stream")["enable.partition.eof"] is True
    assert "enable.partition.eof" not in consumer_config(SETTINGS, "g", "catalogue")


def test_a_consumer_without_a_group_is_refused() -> None:
    with pytest.raises(KafkaClientConfigError, match="group id"):
        consumer_config(SETTINGS, "", "sink")


def test_an_unknown_role_is_refused_with_the_known_ones() -> None:
    with pytest.raises(KafkaClientConfigError, match="choose one of bench, catalogue"):
        producer_config(SETTINGS, "nope")  # type: ignore[arg-type]


def test_admin_clients_name_their_role_and_take_a_logger() -> None:
    sentinel = object()
    config = admin_config(SETTINGS, "broker-probe", {"logger": sentinel})
    assert config["client.id"] == "civicpulse-broker-probe"
    assert config["logger"] is sentinel


def test_a_value_librdkafka_refuses_is_a_project_error() -> None:
    with pytest.raises(KafkaClientConfigError, match="cannot create the Kafka producer"):
        producer(SETTINGS, "terminal", overrides={"acks": "sometimes"})


def test_the_factory_builds_real_clients_without_a_broker() -> None:
    # librdkafka connects lazily: building a client validates its whole configuration.
    built = consumer(SETTINGS, "g", "sink")
    built.close()
    producer(SETTINGS, "stream").flush(0)
