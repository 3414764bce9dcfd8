"""Anti-spam judges each partition's presses contiguously, in offset order, or not at all.

Kafka delivers a partition in order, and ``stream.stages.antispam.decide.decide`` relies on it: a
press at an
offset at or below the device's last applied offset is a re-delivery. Faust can break the order
after a restart (``stream.framework.watchdog`` explains its read-offset race): messages dropped
below a
hole, later ones delivered. Judging those later presses first would turn the dropped ones,
when they come back, into "duplicates", which is a lost press.

``InOrder`` (pure) tracks the next offset to judge per partition, starting from the group's
committed offset when the worker gets the partition: an offset below it is a re-delivery
(judged again: the anti-spam state answers with the first verdict), the next one is judged, and
one above it is a *hole*: the press is held back without an acknowledgement
(``faust_repairs.withhold_ack``: no commit can pass it) and the runner seeks the partition back
to the next offset, which reads the missing presses and the held ones again, in order.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Admission", "InOrder"]

Admission = Literal["next", "again", "hole"]


class InOrder:
    """The next offset to judge, per partition."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def knows(self, partition: int) -> bool:
        return partition in self._next

    def start(self, partition: int, offset: int) -> None:
        """The partition's first offset to judge (the group's committed offset)."""
        self._next[partition] = offset

    def next_offset(self, partition: int) -> int:
        return self._next[partition]

    def forget(self) -> None:
        """After a rebalance: every partition starts again from its committed offset."""
        self._next.clear()

    def admit(self, partition: int, offset: int) -> Admission:
        expected = self._next[partition]
        if offset < expected:
            return "again"
        if offset > expected:
            return "hole"
        self._next[partition] = offset + 1
        return "next"
