"""The terminal's durable offline buffer: a bounded FIFO of presses in SQLite (WAL mode).

A press is appended here *before* anything else happens to it and removed only after its
delivery was confirmed, so a crash, a power cut or a dead network loses nothing. When the buffer
is full a new press is refused with :class:`BufferFullError` (dropping the oldest would be silent
data loss); the terminal shows that error. A press the ingest API refused as invalid (HTTP 422)
can never be delivered: it is moved to a ``quarantine`` table, kept for inspection, so it does
not block the presses behind it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicpulse.producers.exceptions import BufferFullError
from civicpulse.schemas.events import (
    Button,
    Identifier,
    Lang,
    PressEvent,
    Reason,
    UtcDatetime,
    format_utc,
)
from civicpulse.schemas.files import private_file

__all__ = ["BufferStatus", "PressBuffer", "PressDraft"]


class PressDraft(BaseModel):
    """A terminal press before ingest: a :class:`PressEvent` still without ``received_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    channel: Literal["terminal"] = "terminal"
    device_id: Identifier
    # The press constraints are the contract's own types (schemas/events.py): one source.
    button: Button
    pressed_at: UtcDatetime
    reason: Reason | None = None
    lang: Lang | None = None

    @field_validator("pressed_at")
    @classmethod
    def _to_wire_precision(cls, value: datetime) -> datetime:
        # The wire carries milliseconds; holding the same value in memory keeps a buffered
        # press equal to the one read back from the buffer.
        return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)

    def to_event(self, received_at: datetime) -> PressEvent:
        return PressEvent(**self.model_dump(), received_at=received_at)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the ingest API expects (it sets ``received_at`` itself)."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class BufferStatus:
    pending: int
    capacity: int
    quarantined: int
    warn_fraction: float

    @property
    def nearly_full(self) -> bool:
        return self.pending >= self.capacity * self.warn_fraction

    @property
    def full(self) -> bool:
        return self.pending >= self.capacity


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL,
    buffered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    event_id TEXT PRIMARY KEY,
    payload BLOB NOT NULL,
    error TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);
"""


class PressBuffer:
    """Bounded, durable, ordered store of presses awaiting delivery. Thread-safe."""

    def __init__(self, path: Path, *, capacity: int = 100_000, warn_fraction: float = 0.8) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        private_file(path)
        self.path = path
        self.capacity = capacity
        self.warn_fraction = warn_fraction
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before append() returns, even across a power cut (NORMAL
        # would keep WAL commits that a power cut can roll back).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, draft: PressDraft) -> BufferStatus:
        """Store ``draft`` durably; raise :class:`BufferFullError` (nothing stored) when full."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (pending,) = self._db.execute("SELECT count(*) FROM pending").fetchone()
                if pending >= self.capacity:
                    raise BufferFullError(
                        f"offline buffer full ({pending}/{self.capacity} presses): this press was "
                        "not recorded. Restore the connection to the broker/API so the buffer "
                        "drains, or raise the capacity."
                    )
                self._db.execute(
                    "INSERT OR IGNORE INTO pending (event_id, payload, buffered_at) VALUES (?,?,?)",
                    (str(draft.event_id), orjson.dumps(draft.to_wire()), _now()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self._status_locked()

    def peek(self, limit: int) -> list[PressDraft]:
        """The oldest ``limit`` presses, in the order they were pressed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM pending ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [PressDraft.model_validate_json(row[0]) for row in rows]

    def remove(self, event_ids: Iterable[UUID | str]) -> int:
        """Delete delivered presses; returns how many were removed."""
        ids = [(str(e),) for e in event_ids]
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM pending WHERE event_id = ?", ids)
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def quarantine(self, problems: Sequence[tuple[UUID | str, str]]) -> None:
        """Move presses the API refused as invalid out of the queue, keeping them with the error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for event_id, error in problems:
                self._db.execute(
                    "INSERT OR REPLACE INTO quarantine SELECT event_id, payload, ?, ? "
                    "FROM pending WHERE event_id = ?",
                    (error, _now(), str(event_id)),
                )
                self._db.execute("DELETE FROM pending WHERE event_id = ?", (str(event_id),))
            self._db.execute("COMMIT")

    def status(self) -> BufferStatus:
        with self._lock:
            return self._status_locked()

    def _status_locked(self) -> BufferStatus:
        (pending,) = self._db.execute("SELECT count(*) FROM pending").fetchone()
        (quarantined,) = self._db.execute("SELECT count(*) FROM quarantine").fetchone()
        return BufferStatus(pending, self.capacity, quarantined, self.warn_fraction)


def _now() -> str:
    return format_utc(datetime.now(UTC))
