"""Dead letters of the delivery: an alert event no subscriber could be given (or that is no
alert event), kept whole on ``deadletter`` with the reason, acknowledged by the broker before
the event counts as settled."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from civicpulse.infra import kafka_clients
from civicpulse.schemas.events import DeadLetter
from civicpulse.schemas.settings import Settings

__all__ = ["DeadLetters"]

log = logging.getLogger("civicpulse.delivery")


class DeadLetters:
    """Writes to ``deadletter_topic`` what came from ``source_topic``."""

    def __init__(self, settings: Settings, deadletter_topic: str, source_topic: str) -> None:
        self.topic, self.source_topic = deadletter_topic, source_topic
        self._producer: Any = kafka_clients.producer(settings, "delivery")

    async def send(self, raw: bytes, source: tuple[int, int] | None, why: str) -> None:
        """Produce one letter and wait for the broker's ack (retrying while it does not come:
        the event stays unsettled, so nothing is committed past it meanwhile)."""
        partition, offset = source if source is not None else (None, None)
        letter = DeadLetter.of(
            raw, why, "delivery", source_topic=self.source_topic,
            source_partition=partition, source_offset=offset,
        )  # fmt: skip
        self._producer.produce(self.topic, letter.model_dump_json().encode(), key=self.source_topic)
        while await asyncio.to_thread(self._producer.flush, 10.0) > 0:
            log.warning("deadletter not acknowledged by the broker yet; waiting")

    def close(self) -> None:
        self._producer.flush(10)
