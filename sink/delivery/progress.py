"""Which offsets of ``alerts.all`` may be committed (pure).

An event is *settled* once every delivery it needs was delivered or dead-lettered. Deliveries run
concurrently (one subscriber's retries never wait for another's), so events settle out of order;
the committed offset of a partition only ever moves to just past its longest settled prefix. A
restart therefore re-reads exactly the events that were not settled, and none that were.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["OffsetTracker"]


@dataclass
class _Partition:
    pending: deque[int] = field(default_factory=deque)
    settled: set[int] = field(default_factory=set)
    #: next offset to commit (just past the settled prefix); None before the first event
    commit_point: int | None = None
    committed: int | None = None


@dataclass
class OffsetTracker:
    """Offsets read per partition, in order, and which of them settled."""

    partitions: dict[int, _Partition] = field(default_factory=dict)

    def read(self, partition: int, offset: int) -> None:
        """An event was read (offsets of one partition arrive in increasing order)."""
        state = self.partitions.setdefault(partition, _Partition())
        if state.pending and offset <= state.pending[-1]:
            raise ValueError(f"offset {offset} of partition {partition} read out of order")
        state.pending.append(offset)

    def settle(self, partition: int, offset: int) -> None:
        """Every delivery of this event ended (delivered or dead-lettered)."""
        state = self.partitions.get(partition)
        if state is None or offset not in state.pending:
            return  # a partition revoked meanwhile: its new owner re-reads the event
        state.settled.add(offset)
        while state.pending and state.pending[0] in state.settled:
            first = state.pending.popleft()
            state.settled.discard(first)
            state.commit_point = first + 1

    def unsettled(self) -> int:
        """Events read but not settled yet, over every partition."""
        return sum(len(p.pending) - len(p.settled) for p in self.partitions.values())

    def to_commit(self) -> dict[int, int]:
        """Per partition, the offset to commit now (only where it moved since last time)."""
        return {
            number: p.commit_point
            for number, p in self.partitions.items()
            if p.commit_point is not None and p.commit_point != p.committed
        }

    def committed(self, offsets: dict[int, int]) -> None:
        for number, offset in offsets.items():
            if number in self.partitions:
                self.partitions[number].committed = offset

    def uncommitted(self, partitions: list[int]) -> None:
        """A commit of these partitions failed: offer their commit point again."""
        for number in partitions:
            if number in self.partitions:
                self.partitions[number].committed = None

    def forget(self, partition: int) -> None:
        """The partition was revoked: nothing of it may be committed by this consumer."""
        self.partitions.pop(partition, None)
