"""The order in which the alert stream hands out events, and where a resumed stream starts.

An alert topic may have several partitions (``alerts.all`` has 3), while an SSE client sends
back only the id of the last event it got (``topic/partition/offset``). So that this one id is
enough to resume with nothing lost or repeated, events go out in one total order,
``(timestamp, partition, offset)``, and a resumed stream skips everything up to the named
event's key:

* :class:`MergeBuffer` releases the smallest buffered event only when no other partition can
  still deliver a smaller one: each other partition has a later event buffered, or is at its
  end (EOF) and the event is older than ``grace_ms`` (a producer's message still in flight).
* Resuming from ``t/p/o``: partition ``p`` restarts at ``o + 1``; every other partition at the
  first offset whose timestamp is at least the named event's, skipping keys not after it.

Pure code: the Kafka wiring is :mod:`civicpulse.api.alerts.stream`. Assumes timestamps do not
go backwards within a partition (one producer per key; the broker's time index assumes it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["EventKey", "MergeBuffer", "Pending", "format_event_id", "parse_event_id"]

_ID = re.compile(r"^(?P<topic>[A-Za-z0-9._-]{1,249})/(?P<partition>\d{1,6})/(?P<offset>\d{1,19})$")

EventKey = tuple[int, int, int]  # (timestamp ms, partition, offset)


def format_event_id(topic: str, partition: int, offset: int) -> str:
    return f"{topic}/{partition}/{offset}"


def parse_event_id(text: str) -> tuple[str, int, int] | None:
    """``topic/partition/offset`` or None when the text is not such an id."""
    match = _ID.match(text.strip())
    if match is None:
        return None
    return match["topic"], int(match["partition"]), int(match["offset"])


@dataclass(frozen=True, order=True)
class Pending:
    key: EventKey
    value: bytes = field(compare=False)


@dataclass
class MergeBuffer:
    """Buffered events of every partition, released in ``(timestamp, partition, offset)`` order."""

    partitions: tuple[int, ...]
    grace_ms: int = 250
    after: EventKey | None = None
    _buffers: dict[int, list[Pending]] = field(default_factory=dict)
    _eof: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._buffers = {p: [] for p in self.partitions}
        self._eof = dict.fromkeys(self.partitions, False)

    def add(self, timestamp: int, partition: int, offset: int, value: bytes) -> None:
        key = (timestamp, partition, offset)
        self._eof[partition] = False
        if self.after is not None and key <= self.after:
            return  # delivered before the client reconnected
        self._buffers[partition].append(Pending(key, value))

    def at_end(self, partition: int) -> None:
        self._eof[partition] = True

    def ready(self, now_ms: int) -> list[Pending]:
        """Every event that can go out now, in order."""
        out: list[Pending] = []
        while True:
            heads = [buf[0] for buf in self._buffers.values() if buf]
            if not heads:
                return out
            first = min(heads)
            partition = first.key[1]
            for other, buf in self._buffers.items():
                if other == partition or buf:
                    continue
                if not self._eof[other] or first.key[0] > now_ms - self.grace_ms:
                    return out
            self._buffers[partition].pop(0)
            out.append(first)
