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

from civicpulse.infra import kafka_clients
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework.faust_repairs import changelog_record, table_data

__all__ = ["Headers", "Outputs", "TableStore"]

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


class Outputs:
    """Produce now, ``await flush()`` before acknowledging the inputs."""

    def __init__(self, bootstrap: str, *, client_id: str = "civicpulse-stream") -> None:
        self._producer = kafka_clients.producer(
            bootstrap, "stream", overrides={"client.id": client_id}
        )
        self._failed: list[tuple[str, bytes | None, bytes | None, int, Headers | None]] = []

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int = -1,
        headers: Headers | None = None,
    ) -> None:
        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                self._failed.append((topic, key, value, partition, headers))
                log.warning("output to %s failed, will retry: %s", topic, error)

        while True:
            try:
                self._producer.produce(
                    topic,
                    key=key,
                    value=value,
                    partition=partition,
                    headers=headers,
                    on_delivery=delivered,
                )
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
            for topic, key, value, partition, headers in failed:
                self.send(topic, key, value, partition, headers)
            await asyncio.sleep(retry_every)

    def close(self) -> None:
        if self._producer.flush(30.0):
            raise StreamError("stream outputs were not all delivered at shutdown")


class TableStore:
    """A StateStore over a Faust table whose changelog records go through ``Outputs``.

    Faust's ``table[key] = value`` sends the changelog record to the partition of the *current
    event* (wrong in a batch that mixes partitions) and through aiokafka's per-message Python
    path (the stage's bottleneck when measured). Here the value goes into the table's local
    store and its changelog record, JSON as Faust's own recovery reads it, into ``Outputs`` for
    the explicit ``partition``; the agent flushes Outputs before acknowledging its batch.
    """

    def __init__(self, table: Any, outputs: Outputs) -> None:
        self.table = table
        self.outputs = outputs
        self.topic: str = table.changelog_topic.get_topic_name()
        self.partition = 0

    def get(self, key: str) -> Any:
        return table_data(self.table).get(key)

    def keys(self) -> list[str]:
        """Every key of the table the worker holds (all its partitions: the store is shared)."""
        return [str(key) for key in table_data(self.table)]

    def items(self) -> list[tuple[str, Any]]:
        return [(str(key), value) for key, value in table_data(self.table).items()]

    def set(self, key: str, value: Any) -> None:
        data = table_data(self.table)
        if value is None:
            if key not in data:
                return
            del data[key]
        else:
            data[key] = value
        self.outputs.send(self.topic, *changelog_record(key, value), self.partition)
