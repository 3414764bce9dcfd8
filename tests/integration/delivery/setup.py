"""Topics, a catalogue, alert events and a service thread for the delivery tests."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from civicpulse.infra.topics import create_topics
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import AlertAction, AlertEvent, ScoreEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import (
    ALERTS_ACTIONS,
    ALERTS_ALL,
    CATALOGUE_DEVICES,
    SCORES,
    topic_name,
)
from civicpulse.sink.delivery.context import LiveContext
from civicpulse.sink.delivery.service import (
    DeliveryOptions,
    DeliveryService,
    DeliveryStats,
    group_id,
)
from civicpulse.sink.delivery.subscriptions import parse_subscriptions
from civicpulse.stream.catalogue.topic import publish_catalogue

CATALOGUE = Catalogue.model_validate(
    {
        "departments": [{"department_id": "d-civil", "name": "Wydział Spraw Obywatelskich"}],
        "sites": [
            {"site_id": "s-1", "department_id": "d-civil", "name": "Ratusz, sala obsługi"},
            {"site_id": "s-2", "department_id": "d-civil", "name": "Filia Północ"},
        ],
    }
)


def prepare(bootstrap: str, prefix: str) -> None:
    """Every topic, and the catalogue on its topic."""
    create_topics(bootstrap, prefix)
    publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), CATALOGUE)


def alert_event(window_end: datetime | None = None, **changes: Any) -> AlertEvent:
    end = window_end or datetime.now(UTC).replace(second=0, microsecond=0)
    fields: dict[str, Any] = {
        "alert_id": uuid.uuid4(),
        "state": "opened",
        "scope": "department",
        "scope_id": "d-civil",
        "department_id": "d-civil",
        "mode": "threshold",
        "score": 31.25,
        "n": 8,
        "threshold": 50.0,
        "window_start": end - timedelta(minutes=15),
        "window_end": end,
        "at": datetime.now(UTC),
    }
    return AlertEvent(**{**fields, **changes})


def site_score(site_id: str, window_end: datetime, buttons: list[int]) -> ScoreEvent:
    counts = [buttons.count(b) for b in (1, 2, 3, 4)]
    n = len(buttons)
    return ScoreEvent(
        scope="site", scope_id=site_id, window="15m",
        window_start=window_end - timedelta(minutes=15), window_end=window_end,
        n=n, n1=counts[0], n2=counts[1], n3=counts[2], n4=counts[3],
        score=100 * sum((b - 1) / 3 for b in buttons) / n,
        positive_share=(counts[2] + counts[3]) / n,
    )  # fmt: skip


def produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in values:
        producer.produce(topic, value, key=key)
    assert producer.flush(15) == 0


def produce_alerts(bootstrap: str, prefix: str, events: list[AlertEvent]) -> None:
    produce(
        bootstrap,
        topic_name(ALERTS_ALL, prefix),
        [(f"{e.scope}:{e.scope_id}".encode(), e.model_dump_json().encode()) for e in events],
    )


def produce_scores(bootstrap: str, prefix: str, scores: list[ScoreEvent]) -> None:
    produce(
        bootstrap,
        topic_name(SCORES, prefix),
        [(f"site:{s.scope_id}".encode(), s.model_dump_json().encode()) for s in scores],
    )


def produce_action(bootstrap: str, prefix: str, alert_id: uuid.UUID, action: str) -> None:
    record = AlertAction(action_id=uuid.uuid4(), alert_id=alert_id, action=action,
                         by="test-token", at=datetime.now(UTC))  # fmt: skip
    produce(
        bootstrap,
        topic_name(ALERTS_ACTIONS, prefix),
        [(str(alert_id).encode(), record.model_dump_json().encode())],
    )


def committed(bootstrap: str, prefix: str) -> int:
    """The delivery group's committed offsets on alerts.all, summed (-1001 counts as 0)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id(prefix)})
    try:
        topic = topic_name(ALERTS_ALL, prefix)
        parts = [TopicPartition(topic, p) for p in range(ALERTS_ALL.partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def settings_for(bootstrap: str, prefix: str, data_dir: Path, **changes: Any) -> Settings:
    fields: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "topic_prefix": prefix,
        "data_dir": data_dir,
        "public_url": "http://city.example",
        "delivery_backoff": 0.2,
        "delivery_backoff_max": 1.0,
        "delivery_attempts": 6,
        "delivery_timeout": 5.0,
    }
    return Settings(**{**fields, **changes})


class ServiceThread:
    """The real delivery service (LiveContext and all) on its own event loop in a thread."""

    def __init__(self, settings: Settings, subscriptions_toml: str) -> None:
        self.settings = settings
        self.subscriptions = parse_subscriptions(subscriptions_toml)
        self.stats: DeliveryStats | None = None
        self.service: DeliveryService
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True, name="delivery")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by __exit__
            self.error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        context = LiveContext(self.settings)
        await asyncio.to_thread(context.start)
        options = DeliveryOptions.from_settings(self.settings, self.subscriptions)
        service = self.service = DeliveryService(self.settings, options, context)
        self._ready.set()
        try:
            self.stats = await service.run(self._stop)
        finally:
            context.stop()

    def __enter__(self) -> ServiceThread:
        self._thread.start()
        assert self._ready.wait(60), "the delivery service did not start"
        if self.error is not None:
            raise self.error
        assert self.service.assigned.wait(30), "the delivery group assigned no partitions"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the delivery service did not stop"
        if self.error is not None and exc[0] is None:
            raise self.error
