"""Where the API's catalogue comes from, and the device checks ingest makes against it."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from civicpulse.schemas.catalogue import Catalogue, Device
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name

if TYPE_CHECKING:
    from civicpulse.stream.catalogue.topic import CatalogueReader

__all__ = ["CatalogueSource", "DeviceStatus", "device_status"]

DeviceStatus = Literal["unknown", "retired", "active"]
log = logging.getLogger(__name__)
_EMPTY = Catalogue()


def device_status(
    catalogue: Catalogue, device_id: str, now: datetime
) -> tuple[DeviceStatus, Device | None]:
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
    """The catalogue ingest checks devices against.

    Either fixed (tests, embedders) or followed live on the compacted ``catalogue.devices``
    topic, the same records the stream judges presses with (``civicpulse catalogue load`` is the
    one way in), so the API and the stream cannot disagree about a device for longer than the
    topic takes to reach both. ``start`` follows the topic in a thread: it returns once the
    topic was read to its end or after ``wait`` seconds, and keeps retrying in the background
    while the broker or the topic is not there yet (until then every device is unknown).
    """

    def __init__(
        self, catalogue: Catalogue | None = None, *, bootstrap: str | None = None,
        topic: str | None = None,
    ) -> None:  # fmt: skip
        self._fixed = catalogue
        self.bootstrap, self.topic = bootstrap, topic
        self._reader: CatalogueReader | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def on_topic(cls, settings: Settings) -> CatalogueSource:
        return cls(
            bootstrap=settings.bootstrap_servers,
            topic=topic_name(CATALOGUE_DEVICES, settings.topic_prefix),
        )

    @property
    def loaded(self) -> bool:
        """A fixed catalogue, or the topic was read to its end at least once."""
        return self._fixed is not None or self._ready.is_set()

    def start(self, wait: float = 15.0) -> None:
        if self._fixed is not None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow, name="api-catalogue", daemon=True)
        self._thread.start()
        self._ready.wait(wait)

    def _follow(self) -> None:
        from civicpulse.stream.catalogue.topic import CatalogueReader

        assert self.bootstrap is not None and self.topic is not None
        while not self._stop.is_set():
            reader = CatalogueReader(self.bootstrap, self.topic)
            try:
                reader.start(timeout=30.0)
            except Exception as exc:  # broker down, topic missing, invalid records: retry
                log.warning("catalogue topic %s not readable yet (%s); retrying", self.topic, exc)
                reader.stop()
                self._stop.wait(2.0)
                continue
            self._reader = reader
            self._ready.set()
            return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._reader is not None:
            self._reader.stop()

    def get(self) -> Catalogue:
        if self._fixed is not None:
            return self._fixed
        reader = self._reader
        return reader.index().catalogue if reader is not None else _EMPTY
