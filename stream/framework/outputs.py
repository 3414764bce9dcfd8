"""The stream's output producer (outputs and the tables' changelog records).

Outputs go through one confluent-kafka producer (idempotent, acks=all): librdkafka batches in C,
which the per-message aiokafka path of Faust's ``topic.send`` cannot match. At-least-once is kept
by hand: the runner's checkpoint (``stream.framework.checkpoint``) flushes this producer (and
retries what failed) *before* it writes state and before the batch's events are acknowledged, so
an offset is never committed ahead of the outputs it produced. The changelog records of a table
(``stream.framework.transaction``) go through it too: Faust's ``table[key] = value`` would send
them to the partition of the *current event* (wrong in a batch that mixes partitions) and
through aiokafka's per-message Python path (the stage's bottleneck when measured).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from civicpulse.infra import kafka_clients
from civicpulse.stream.exceptions import StreamError

__all__ = ["Headers", "Outputs"]

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
