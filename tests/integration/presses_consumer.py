"""Read back what producers wrote to ``presses.raw`` on the real broker (test helper)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import KafkaError

from .readback import fresh_consumer

__all__ = ["RawMessage", "read_topic"]


@dataclass(frozen=True)
class RawMessage:
    key: str
    value: dict[str, Any]
    partition: int
    offset: int


def read_topic(
    bootstrap: str, topic: str, expected: int, *, timeout: float = 30.0, settle: float = 1.0
) -> list[RawMessage]:
    """Every message of ``topic`` from the start: waits for ``expected``, then ``settle`` more
    seconds so that extra (duplicate) messages would show up too."""
    consumer = fresh_consumer(bootstrap, "test-reader", **{"isolation.level": "read_committed"})
    consumer.subscribe([topic])
    messages: list[RawMessage] = []
    deadline = time.monotonic() + timeout
    settle_until: float | None = None
    try:
        while time.monotonic() < deadline:
            if len(messages) >= expected and settle_until is None:
                settle_until = time.monotonic() + settle
            if settle_until is not None and time.monotonic() >= settle_until:
                break
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error: {msg.error()}")
            key = msg.key()
            messages.append(
                RawMessage(
                    key.decode() if key else "",
                    orjson.loads(msg.value()),
                    msg.partition(),
                    msg.offset(),
                )
            )
    finally:
        consumer.close()
    return messages
