"""The stream's output producer and the StateStore over a Faust table.

Outputs go through one confluent-kafka producer (idempotent, acks=all): librdkafka batches in C,
which the per-message aiokafka path of Faust's ``topic.send`` cannot match. At-least-once is kept
by hand: an agent flushes this producer (and retries what failed) *before* its batch's events are
acknowledged, so an offset is never committed ahead of the outputs it produced.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .exceptions import StreamError

__all__ = ["Outputs", "TableStore"]

log = logging.getLogger(__name__)


class Outputs:
    """Produce now, ``await flush()`` before acknowledging the inputs."""

    def __init__(self, bootstrap: str, *, client_id: str = "civicpulse-stream") -> None:
        from confluent_kafka import Producer

        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 1_000_000,
            }
        )
        self._failed: list[tuple[str, bytes | None, bytes]] = []

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                self._failed.append((topic, key, value))
                log.warning("output to %s failed, will retry: %s", topic, error)

        while True:
            try:
                self._producer.produce(topic, key=key, value=value, on_delivery=delivered)
                return
            except BufferError:
                self._producer.poll(0.05)

    async def flush(self, *, retry_every: float = 1.0) -> None:
        """Every output sent so far is acknowledged by the broker; retries until it is."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = await loop.run_in_executor(None, self._producer.flush, 30.0)
            if remaining == 0 and not self._failed:
                return
            # Not acknowledged: never let the inputs be committed. Retry until the broker is back.
            failed, self._failed = self._failed, []
            for topic, key, value in failed:
                self.send(topic, key, value)
            await asyncio.sleep(retry_every)

    def close(self) -> None:
        if self._producer.flush(30.0):
            raise StreamError("stream outputs were not all delivered at shutdown")


class TableStore:
    """A StateStore over a Faust table that writes the changelog of an explicit partition.

    Faust's ``table[key] = value`` sends the changelog record to the partition of the *current
    event*; in a batch mixing partitions that would file a device's state under another
    partition. The agent sets ``partition`` to the batch group's source partition instead.
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self.partition = 0

    def get(self, key: str) -> Any:
        return self.table.data.get(key)

    def set(self, key: str, value: Any) -> None:
        data = self.table.data
        if value is None:
            if key not in data:
                return
            del data[key]
            self.table.send_changelog(self.partition, key, None, value_serializer="raw")
        else:
            data[key] = value
            self.table.send_changelog(self.partition, key, value)
