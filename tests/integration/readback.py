"""The one way tests read topics back: a throwaway consumer of its own fresh group.

Fresh group (no committed offsets), earliest, never committing: every read sees a topic from
its start and leaves no trace in the broker's groups. Callers differ in what they collect
(raw bytes, validated events, per-partition order), so this is only the consumer.
"""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Consumer

__all__ = ["fresh_consumer"]


def fresh_consumer(bootstrap: str, purpose: str = "test", **extra: Any) -> Consumer:
    """A consumer in a new group ``<purpose>-<random>`` reading from the start, no commits."""
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{purpose}-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **extra,
        }
    )
