"""Batches of one (topic, partition), the flush policy, and bad-row isolation. Pure logic.

A batch covers a contiguous offset range of one partition: rows to insert plus messages refused
on decoding (they still advance the offset, through the dead-letter topic). Its
``dedup_token`` names that range, so re-inserting the same batch is a no-op in ClickHouse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BatchPolicy",
    "DeadRow",
    "PartitionBatch",
    "insert_isolating",
]


@dataclass(frozen=True)
class DeadRow:
    """A message that will not be stored, with the reason; bound for the dead-letter topic."""

    offset: int
    payload: bytes
    error: str


@dataclass
class PartitionBatch:
    """Rows read from one partition since the last flush."""

    topic: str
    partition: int
    opened_at: float
    first_offset: int | None = None
    last_offset: int | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    row_offsets: list[int] = field(default_factory=list)
    dead: list[DeadRow] = field(default_factory=list)

    def _advance(self, offset: int) -> None:
        if self.last_offset is not None and offset <= self.last_offset:
            raise ValueError(f"offset {offset} of {self.topic}[{self.partition}] went backwards")
        if self.first_offset is None:
            self.first_offset = offset
        self.last_offset = offset

    def add(self, offset: int, row: tuple[Any, ...], payload: bytes) -> None:
        self._advance(offset)
        self.rows.append(row)
        self.payloads.append(payload)
        self.row_offsets.append(offset)

    def add_dead(self, offset: int, payload: bytes, error: str) -> None:
        self._advance(offset)
        self.dead.append(DeadRow(offset, payload, error))

    @property
    def size(self) -> int:
        return len(self.rows) + len(self.dead)

    @property
    def dedup_token(self) -> str:
        """``topic:partition:first-last``: the same range always gets the same token."""
        return f"{self.topic}:{self.partition}:{self.first_offset}-{self.last_offset}"

    @property
    def commit_offset(self) -> int | None:
        """The offset to commit once this batch is stored: the next one to read."""
        return None if self.last_offset is None else self.last_offset + 1


@dataclass(frozen=True)
class BatchPolicy:
    """Flush when any batch holds ``max_rows`` messages or the oldest is ``max_age`` s old."""

    max_rows: int = 10_000
    max_age: float = 1.0

    def due(self, batches: Sequence[PartitionBatch], now: float) -> bool:
        return any(
            batch.size >= self.max_rows or (batch.size and now - batch.opened_at >= self.max_age)
            for batch in batches
        )


def insert_isolating(
    insert: Callable[[list[tuple[Any, ...]], str], None],
    rows: list[tuple[Any, ...]],
    token: str,
    is_row_error: Callable[[Exception], bool],
) -> list[tuple[int, str]]:
    """Insert ``rows``; if the table refuses some, bisect to store the rest.

    Returns ``(index, reason)`` of every refused row. Halves get derived tokens (``token/0``,
    ``token/1``), so a re-delivered batch splits the same way and still deduplicates. Errors
    that are not about the rows (``is_row_error`` false: server down, ...) propagate: nothing is
    committed and the batch is retried.
    """
    if not rows:
        return []
    try:
        insert(rows, token)
        return []
    except Exception as exc:
        if not is_row_error(exc):
            raise
        if len(rows) == 1:
            return [(0, str(exc))]
    middle = len(rows) // 2
    left = insert_isolating(insert, rows[:middle], f"{token}/0", is_row_error)
    right = insert_isolating(insert, rows[middle:], f"{token}/1", is_row_error)
    return left + [(index + middle, reason) for index, reason in right]
