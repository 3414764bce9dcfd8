"""Web visitors: a salted hash of a random per-browser id, with a salt rotated every day.

The widget keeps a random id in the browser's localStorage and sends it with each press. The
API turns it into ``visitor = HMAC-SHA256(salt_of_today, browser_id)``. The salt is random, lives
only in the API's data dir and is replaced (the old one destroyed, not derived) at local midnight,
so yesterday's visitor ids cannot be linked to today's, not even by us. Never an IP address.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from civicpulse.schemas.files import write_private

__all__ = ["DailySalt", "VisitorHasher", "visitor_hash"]


def visitor_hash(salt: bytes, browser_id: str) -> str:
    """The visitor id of ``browser_id`` under ``salt``: 32 hex chars, irreversible."""
    return hmac.new(salt, browser_id.encode(), hashlib.sha256).hexdigest()[:32]


class DailySalt:
    """Today's salt (city calendar day), persisted so a restart keeps the day's visitor ids."""

    def __init__(self, path: Path | None, timezone: str) -> None:
        self.path = path
        self.zone = ZoneInfo(timezone)
        self._lock = threading.Lock()
        self._day: date | None = None
        self._salt = b""
        if path is not None and path.exists():
            try:
                raw = orjson.loads(path.read_bytes())
                self._day, self._salt = date.fromisoformat(raw["day"]), bytes.fromhex(raw["salt"])
            except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
                self._day = None  # unreadable: start a fresh salt, as at midnight

    def salt_for(self, moment: datetime) -> bytes:
        day = moment.astimezone(self.zone).date()
        with self._lock:
            if day != self._day:
                self._day, self._salt = day, os.urandom(32)
                self._persist()
            return self._salt

    def _persist(self) -> None:
        if self.path is None or self._day is None:
            return
        data = orjson.dumps({"day": self._day.isoformat(), "salt": self._salt.hex()})
        write_private(self.path, data)


class VisitorHasher:
    def __init__(self, salts: DailySalt, clock: Callable[[], datetime] | None = None) -> None:
        self.salts = salts
        self.clock = clock or (lambda: datetime.now(UTC))

    def visitor(self, browser_id: str, at: datetime | None = None) -> str:
        return visitor_hash(self.salts.salt_for(at or self.clock()), browser_id)
