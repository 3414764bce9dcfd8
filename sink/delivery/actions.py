"""What people did with alerts, as the delivery needs it: ``alerts.actions`` read from its start
(to its end before the first alert is sent), then followed; an ``ack`` or ``close`` ends the
alert in the escalation book. Never committed: every start reads the topic again, which is
small (one record per human action) and is the only way to learn of acknowledgements made while
the delivery was down."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from pydantic import ValidationError

from civicpulse.infra import kafka_clients
from civicpulse.schemas.events import AlertAction
from civicpulse.schemas.settings import Settings
from civicpulse.sink.delivery.escalation import EscalationBook

__all__ = ["ActionFollower"]

log = logging.getLogger("civicpulse.delivery")


class ActionFollower:
    """Reads ``topic`` into ``book``; :meth:`start` returns once the topic was read to its end."""

    def __init__(self, settings: Settings, topic: str, book: EscalationBook) -> None:
        self.settings, self.topic, self.book = settings, topic, book
        self._consumer: Any = None

    def start(self, timeout: float = 30.0) -> None:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        self._consumer = consumer = kafka_clients.consumer(
            self.settings, f"civicpulse-delivery-actions-{uuid.uuid4().hex}", "delivery-follow"
        )
        metadata = consumer.list_topics(self.topic, timeout=10).topics[self.topic]
        if metadata.error is not None:
            log.warning("%s does not exist: acknowledgements are not seen", self.topic)
            return
        parts = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
        consumer.assign(parts)
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts}
        seen = dict.fromkeys(ends, 0)
        deadline = time.monotonic() + timeout
        while any(seen[p] < end for p, end in ends.items()) and time.monotonic() < deadline:
            for message in consumer.consume(500, 0.2):
                if message.error() is None:
                    seen[message.partition()] = message.offset() + 1
                    self.take(message.value())

    def follow(self) -> None:
        """Whatever arrived since the last call (never waits)."""
        for message in self._consumer.consume(200, 0):
            if message.error() is None:
                self.take(message.value())

    def take(self, raw: bytes) -> None:
        try:
            action = AlertAction.model_validate_json(raw)
        except ValidationError:
            return  # the API wrote it; nothing for delivery to do with a stranger
        if action.action in ("ack", "close"):
            self.book.end(action.alert_id, action.at)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
