"""The one factory of confluent-kafka clients: every producer, consumer and admin client of the
package is configured here, by role.

Why one place: the settings that make delivery safe (idempotence, ``acks=all``), the
compression every consumer can decode (lz4, which aiokafka under Faust reads through cramjam),
how fast a client notices a broker that came back, and a ``client.id`` that names the stage in the
broker's logs used to be repeated in about eleven inline dicts, and drifted. A stage asks for
``producer(settings, "sink")`` and gets the project's answer; where one role really needs
something else, the role table below says so and why, so a difference is a decision, not a drift.

Every stage may import ``civicpulse.infra`` (it imports only ``civicpulse.schemas``), so the
factory lives here. The pure ``*_config`` functions are what the unit tests check; the client
constructors import confluent-kafka lazily so that ``civicpulse --help`` stays fast.

``settings`` is a :class:`Settings` or, for code that holds only the bootstrap servers (the
launcher's probe, the stream's reader threads), that ``host:port`` string.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from civicpulse.infra.exceptions import KafkaClientConfigError
from civicpulse.schemas.settings import Settings

__all__ = [
    "ADMIN_ROLES",
    "CONSUMER_ROLES",
    "PRODUCER_ROLES",
    "AdminRole",
    "ConsumerRole",
    "ProducerRole",
    "admin",
    "admin_config",
    "build_producer",
    "consumer",
    "consumer_config",
    "producer",
    "producer_config",
]

ProducerRole = Literal[
    "terminal", "ingest", "simulator", "bench", "catalogue", "stream", "sink", "delivery"
]
ConsumerRole = Literal[
    "sink",
    "stream-watchdog",
    "group-probe",
    "catalogue",
    "alert-stream",
    "alerts-watch",
    "demo-summary",
    "bench",
    "delivery",
    "delivery-follow",
]
AdminRole = Literal["topics", "readiness", "broker-probe"]

# librdkafka backs off up to 10 s between reconnects by default; a client whose broker comes back
# should notice within a couple of seconds (a terminal's buffer drains, the API turns ready).
_RECONNECT: dict[str, Any] = {"reconnect.backoff.max.ms": 2_000}

_PRODUCER_BASE: dict[str, Any] = {
    # Idempotence implies acks=all and in-order, duplicate-free retries per partition.
    "enable.idempotence": True,
    "acks": "all",
    # A few ms of lingering batches a burst without adding noticeable latency.
    "linger.ms": 5,
    "compression.type": "lz4",
    **_RECONNECT,
}

# Presses wait in the terminal's buffer or get an answer from the API: a press producer must
# give up within a bound the caller chooses (30 s here, the API asks for 10 s), not librdkafka's
# 300 s, and must not spend most of it setting up one connection.
_PRESS_DELIVERY: dict[str, Any] = {
    "delivery.timeout.ms": 30_000,
    "socket.connection.setup.timeout.ms": 10_000,
}

PRODUCER_ROLES: Mapping[ProducerRole, Mapping[str, Any]] = MappingProxyType(
    {
        "terminal": _PRESS_DELIVERY,
        # POST /v1/presses answers 202 only after the ack, 503 after 10 s without one.
        "ingest": {**_PRESS_DELIVERY, "delivery.timeout.ms": 10_000},
        # Throughput over latency: a simulated city at 10k presses/s; a deep local queue.
        "simulator": {**_PRESS_DELIVERY, "linger.ms": 20, "queue.buffering.max.messages": 200_000},
        "bench": _PRESS_DELIVERY,
        # The outputs below are flushed before their inputs are committed: they keep
        # librdkafka's 300 s delivery timeout so that a broker restart delays, never fails them.
        "catalogue": {},
        # Every judged press, table changelog and score of a batch is produced before one flush.
        "stream": {"queue.buffering.max.messages": 1_000_000},
        # Only dead letters, flushed before the batch's offsets are committed: latency does not
        # matter, so a longer linger groups a bad batch's letters (kept from the inline config).
        "sink": {"linger.ms": 20},
        # Alert delivery's dead letters, flushed before the event's offset is committed.
        "delivery": {},
    }
)

_CONSUMER_BASE: dict[str, Any] = {
    # Every consumer of the project commits on purpose (the sink, after ClickHouse accepted a
    # batch) or never (readers that assign partitions or use a throw-away group).
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    **_RECONNECT,
}

CONSUMER_ROLES: Mapping[ConsumerRole, Mapping[str, Any]] = MappingProxyType(
    {
        "sink": {
            "isolation.level": "read_committed",
            # A crashed sink's partitions move on after 10 s instead of the default 45 s;
            # heartbeats run on librdkafka's own thread, so a long insert does not count.
            "session.timeout.ms": 10_000,
        },
        # Reads the stream group's committed offsets without joining the group.
        "stream-watchdog": {},
        # Joins a throw-away group only to learn that the coordinator assigns partitions.
        "group-probe": {"session.timeout.ms": 6_000},
        "catalogue": {},
        # One SSE client's position: assign() only, and the end of a partition is an event.
        "alert-stream": {"enable.partition.eof": True},
        # `civicpulse alerts watch`; `--from-beginning false` overrides auto.offset.reset.
        "alerts-watch": {},
        "demo-summary": {},
        "bench": {},
        # Alert delivery commits an event once every subscription got it or dead-lettered it;
        # a dead delivery service's partitions move on after 10 s, as the sink's do. Its
        # commits share the broker connection with the fetch long-poll and wait behind it: a
        # short poll keeps a commit (and so a stop) from waiting 500 ms.
        "delivery": {"session.timeout.ms": 10_000, "fetch.wait.max.ms": 100},
        # Alert delivery's readers of alerts.actions and scores: assign() only, never commit.
        "delivery-follow": {},
    }
)

ADMIN_ROLES: Mapping[AdminRole, Mapping[str, Any]] = MappingProxyType(
    {
        "topics": {},
        # /readyz asks the broker at most every few seconds; it must see a broker come back.
        "readiness": {},
        # Polls a broker that is still booting: refused connections are expected, so the
        # caller passes a quiet ``logger`` override.
        "broker-probe": {},
    }
)


def _bootstrap(settings: Settings | str) -> str:
    return settings if isinstance(settings, str) else settings.bootstrap_servers


def _check_role(role: str, roles: Mapping[Any, Any], kind: str) -> None:
    if role not in roles:
        raise KafkaClientConfigError(
            f"unknown Kafka {kind} role {role!r}: choose one of {', '.join(sorted(roles))} "
            "(or add it to the role table in civicpulse.infra.kafka_clients)"
        )


def producer_config(
    settings: Settings | str,
    role: ProducerRole,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The librdkafka configuration of a producer in ``role``; ``overrides`` win last."""
    _check_role(role, PRODUCER_ROLES, "producer")
    return {
        "bootstrap.servers": _bootstrap(settings),
        "client.id": f"civicpulse-{role}",
        **_PRODUCER_BASE,
        **PRODUCER_ROLES[role],
        **(overrides or {}),
    }


def consumer_config(
    settings: Settings | str,
    group: str,
    role: ConsumerRole,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The librdkafka configuration of a consumer of ``group`` in ``role``."""
    _check_role(role, CONSUMER_ROLES, "consumer")
    if not group:
        raise KafkaClientConfigError("a Kafka consumer needs a group id (librdkafka requires one)")
    return {
        "bootstrap.servers": _bootstrap(settings),
        "group.id": group,
        "client.id": f"civicpulse-{role}",
        **_CONSUMER_BASE,
        **CONSUMER_ROLES[role],
        **(overrides or {}),
    }


def admin_config(
    settings: Settings | str,
    role: AdminRole,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The librdkafka configuration of an admin client in ``role``."""
    _check_role(role, ADMIN_ROLES, "admin")
    return {
        "bootstrap.servers": _bootstrap(settings),
        "client.id": f"civicpulse-{role}",
        **_RECONNECT,
        **ADMIN_ROLES[role],
        **(overrides or {}),
    }


def _build(kind: str, factory: Any, config: dict[str, Any]) -> Any:
    try:
        return factory(config)
    except Exception as exc:  # KafkaException: a bad value, e.g. in an override
        raise KafkaClientConfigError(
            f"cannot create the Kafka {kind} ({exc}); check CIVICPULSE_KAFKA_BOOTSTRAP and the "
            "overrides passed to civicpulse.infra.kafka_clients"
        ) from exc


def build_producer(config: Mapping[str, Any]) -> Any:
    """A ``Producer`` from a configuration made by :func:`producer_config` (and adjusted)."""
    from confluent_kafka import Producer

    return _build("producer", Producer, dict(config))


def producer(
    settings: Settings | str,
    role: ProducerRole,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A confluent-kafka ``Producer`` configured for ``role`` (see :func:`producer_config`)."""
    return build_producer(producer_config(settings, role, overrides))


def consumer(
    settings: Settings | str,
    group: str,
    role: ConsumerRole,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A confluent-kafka ``Consumer`` of ``group`` configured for ``role``."""
    from confluent_kafka import Consumer

    return _build("consumer", Consumer, consumer_config(settings, group, role, overrides))


def admin(
    settings: Settings | str,
    role: AdminRole,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A confluent-kafka ``AdminClient`` configured for ``role``."""
    from confluent_kafka.admin import AdminClient

    return _build("admin client", AdminClient, admin_config(settings, role, overrides))
