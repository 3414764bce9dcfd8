"""Where the API's catalogue comes from, and the device checks ingest makes against it."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Literal

from civicpulse.schemas.catalogue import Catalogue, Device

from .exceptions import ApiError

__all__ = ["CatalogueSource", "DeviceState", "device_state"]

DeviceState = Literal["unknown", "retired", "active"]


def device_state(
    catalogue: Catalogue, device_id: str, now: datetime
) -> tuple[DeviceState, Device | None]:
    """Whether ingest takes presses of ``device_id`` now, with its latest catalogue entry.

    ``retired``: every entry of the device has ``retired_at <= now``. A device whose entry starts
    in the future is accepted here: the stream judges each press against the catalogue valid at
    its ``pressed_at`` (``unknown_device``), which keeps the decision in one place.
    """
    entries = catalogue.entries_of(device_id)
    if not entries:
        return "unknown", None
    latest = max(entries, key=lambda d: d.active_from)
    if all(e.retired_at is not None and e.retired_at <= now for e in entries):
        return "retired", latest
    current = catalogue.device_at(device_id, now)
    return "active", current or latest


class CatalogueSource:
    """A fixed catalogue, or a JSON file re-read when it changes (checked at most every 2 s)."""

    def __init__(self, catalogue: Catalogue | None = None, path: Path | None = None) -> None:
        self.path = path
        self._catalogue = catalogue or Catalogue()
        self._mtime: float | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        if catalogue is None and path is not None:
            self._reload(force=True)

    def _reload(self, *, force: bool = False) -> None:
        assert self.path is not None
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError as exc:
            if force:
                raise ApiError(
                    f"catalogue file {self.path} does not exist; set CIVICPULSE_CATALOGUE_FILE "
                    "to the city's catalogue JSON"
                ) from exc
            return
        if mtime == self._mtime:
            return
        try:
            catalogue = Catalogue.model_validate_json(self.path.read_bytes())
        except ValueError as exc:
            if force:
                raise ApiError(f"catalogue file {self.path} is invalid: {exc}") from exc
            return  # keep serving the last good catalogue while the file is being rewritten
        self._catalogue, self._mtime = catalogue, mtime

    def get(self) -> Catalogue:
        if self.path is not None and self._mtime is not None:
            now = time.monotonic()
            if now - self._checked > 2.0:
                with self._lock:
                    self._checked = now
                    self._reload()
        return self._catalogue
