"""The one idempotent Kafka producer of presses, and delivery that waits for the broker's ack.

Every press reaches ``presses.raw`` through :func:`create_producer`: idempotent, ``acks=all``,
keyed by ``device_id`` so one device's presses stay in order in one partition. Callers learn
whether a press is durable only from its delivery callback; :func:`deliver` (blocking, for the
terminal) and :class:`AsyncPublisher` (asyncio, for the ingest API) wrap that.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from confluent_kafka import KafkaError, Message, Producer

from civicpulse.infra import kafka_clients
from civicpulse.infra.exceptions import KafkaClientConfigError
from civicpulse.producers.exceptions import ProducerError
from civicpulse.schemas.events import PressEvent, format_utc
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import PRESSES_RAW, topic_name

__all__ = [
    "AsyncPublisher",
    "Delivery",
    "PressRole",
    "create_producer",
    "deliver",
    "encode_press",
    "presses_topic",
    "producer_config",
]


def presses_topic(settings: Settings) -> str:
    """The physical name of ``presses.raw`` for this city's prefix."""
    return topic_name(PRESSES_RAW, settings.topic_prefix)


def encode_press(event: PressEvent) -> bytes:
    """The wire form of a press: compact JSON, timestamps as UTC ISO-8601 with ms.

    Equal to ``event.model_dump(mode="json", exclude_none=True)`` (a unit test holds it to
    that), built by hand because pydantic's serializer costs ~5x more on the ingest hot path.
    """
    body: dict[str, Any] = {
        "event_id": str(event.event_id),
        "channel": event.channel,
        "device_id": event.device_id,
        "button": event.button,
        "pressed_at": format_utc(event.pressed_at),
        "received_at": format_utc(event.received_at),
    }
    if event.visitor is not None:
        body["visitor"] = event.visitor
    if event.reason is not None:
        body["reason"] = event.reason
    if event.lang is not None:
        body["lang"] = event.lang
    return orjson.dumps(body)


PressRole = Literal["terminal", "ingest", "simulator", "bench"]


def producer_config(
    settings: Settings,
    *,
    role: PressRole = "terminal",
    client_id: str | None = None,
    delivery_timeout_ms: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The librdkafka configuration of a press producer: the factory's ``role`` (idempotent,
    ``acks=all``, lz4, a bounded delivery timeout) with this caller's id and timeout."""
    mine: dict[str, Any] = {}
    if client_id is not None:
        mine["client.id"] = client_id
    if delivery_timeout_ms is not None:
        # Bounds how long a press can wait for an ack before its callback reports failure; the
        # terminal then keeps it buffered and the API answers 503.
        mine["delivery.timeout.ms"] = delivery_timeout_ms
        mine["socket.connection.setup.timeout.ms"] = min(10_000, delivery_timeout_ms)
    return kafka_clients.producer_config(settings, role, {**mine, **(overrides or {})})


def create_producer(
    settings: Settings,
    *,
    role: PressRole = "terminal",
    client_id: str | None = None,
    delivery_timeout_ms: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Producer:
    """An idempotent confluent-kafka ``Producer`` for presses (see :func:`producer_config`)."""
    config = producer_config(
        settings,
        role=role,
        client_id=client_id,
        delivery_timeout_ms=delivery_timeout_ms,
        overrides=overrides,
    )
    try:
        return kafka_clients.build_producer(config)
    except KafkaClientConfigError as exc:
        raise ProducerError(str(exc)) from exc


@dataclass(frozen=True)
class Delivery:
    """The broker's answer for one press: where it was stored, or why not."""

    event_id: str
    error: str | None = None
    partition: int | None = None
    offset: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _delivery_of(event_id: str, err: KafkaError | None, msg: Message) -> Delivery:
    if err is not None:
        return Delivery(event_id, error=str(err))
    return Delivery(event_id, partition=msg.partition(), offset=msg.offset())


def deliver(
    producer: Producer, topic: str, events: Sequence[PressEvent], *, timeout: float = 30.0
) -> list[Delivery]:
    """Produce ``events`` in order and block until the broker answered for each (or timeout).

    A press without an answer when ``timeout`` ends is reported as failed: it may still land
    later, which is harmless because ``event_id`` deduplicates downstream.
    """
    results: dict[int, Delivery] = {}

    def callback_for(index: int, event_id: str) -> Any:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            results[index] = _delivery_of(event_id, err, msg)

        return on_delivery

    for index, event in enumerate(events):
        _produce(producer, topic, event, callback_for(index, str(event.event_id)))
    producer.flush(timeout)
    return [
        results.get(index, Delivery(str(event.event_id), error="no broker answer before timeout"))
        for index, event in enumerate(events)
    ]


def _produce(producer: Producer, topic: str, event: PressEvent, on_delivery: Any) -> None:
    while True:
        try:
            producer.produce(
                topic,
                key=event.device_id.encode(),
                value=encode_press(event),
                on_delivery=on_delivery,
            )
            return
        except BufferError:
            # librdkafka's local queue is full: serve callbacks to make room, then retry.
            producer.poll(0.05)


class AsyncPublisher:
    """Produces presses from asyncio code and resolves a future per press on the broker's ack.

    A daemon thread serves librdkafka's callbacks (``poll``) so the event loop never blocks.
    """

    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self.topic = topic
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="press-publisher", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, delivery_timeout_ms: int = 10_000
    ) -> AsyncPublisher:
        producer = create_producer(settings, role="ingest", delivery_timeout_ms=delivery_timeout_ms)
        return cls(producer, presses_topic(settings))

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def publish(self, events: Iterable[PressEvent]) -> list[Delivery]:
        """Produce ``events`` in order; return once the broker answered for every one."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Delivery]] = []
        # One producer is shared by concurrent requests: the lock keeps each batch contiguous
        # so a device's presses enter its partition in the order the batch lists them.
        with self._lock:
            for event in events:
                future: asyncio.Future[Delivery] = loop.create_future()
                futures.append(future)
                _produce(self._producer, self.topic, event, self._resolver(loop, future, event))
        return list(await asyncio.gather(*futures))

    @staticmethod
    def _resolver(
        loop: asyncio.AbstractEventLoop, future: asyncio.Future[Delivery], event: PressEvent
    ) -> Any:
        event_id = str(event.event_id)

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            delivery = _delivery_of(event_id, err, msg)
            # The loop may be gone when an ack arrives after shutdown; nobody waits then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_set_if_pending, future, delivery)

        return on_delivery

    def close(self, timeout: float = 10.0) -> None:
        """Wait for in-flight presses (up to ``timeout``), then stop the callback thread."""
        self._producer.flush(timeout)
        self._stop.set()
        self._thread.join(timeout=2)


def _set_if_pending(future: asyncio.Future[Delivery], delivery: Delivery) -> None:
    if not future.done():
        future.set_result(delivery)
