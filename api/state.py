"""What the ingest routes share: options, publisher, catalogue, keys, limiters, readiness."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import Request

from civicpulse.producers.kafka_producer import Delivery
from civicpulse.schemas.events import PressEvent
from civicpulse.schemas.settings import Settings

from .catalogue_source import CatalogueSource
from .keys import DeviceKeys
from .ratelimit import RateLimiter
from .visitors import VisitorHasher

__all__ = ["IngestOptions", "IngestState", "Publisher", "Readiness", "get_state"]


@dataclass(frozen=True)
class IngestOptions:
    """Ingest limits. Defaults suit a city: widget limits are per visitor and per IP."""

    max_batch: int = 500
    max_body_bytes: int = 1_048_576
    visitor_rate_per_minute: float = 6.0
    visitor_burst: int = 3
    ip_rate_per_minute: float = 120.0
    ip_burst: int = 60
    ready_cache_seconds: float = 3.0
    ready_timeout_seconds: float = 2.0
    retry_after_seconds: int = 5


class Publisher(Protocol):
    topic: str

    async def publish(self, events: Iterable[PressEvent]) -> list[Delivery]: ...

    def close(self, timeout: float = 10.0) -> None: ...


class Readiness:
    """Broker reachable and ``presses.raw`` present, asked of the broker at most every few s."""

    def __init__(self, settings: Settings, topic: str, options: IngestOptions) -> None:
        self.settings = settings
        self.topic = topic
        self.options = options
        self._admin: Any = None
        self._checked = -1e9
        self._last: tuple[bool, str] = (False, "not checked yet")
        self._lock = asyncio.Lock()

    def _ask(self) -> tuple[bool, str]:
        from confluent_kafka.admin import AdminClient

        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.settings.bootstrap_servers})
        try:
            metadata = self._admin.list_topics(timeout=self.options.ready_timeout_seconds)
        except Exception as exc:  # KafkaException: broker down or unreachable
            return False, f"broker {self.settings.bootstrap_servers} unreachable: {exc}"
        if self.topic not in metadata.topics:
            return False, f"topic {self.topic} missing: run `civicpulse topics create`"
        return (
            True,
            f"broker {self.settings.bootstrap_servers} reachable, topic {self.topic} present",
        )

    async def check(self) -> tuple[bool, str]:
        async with self._lock:
            if time.monotonic() - self._checked >= self.options.ready_cache_seconds:
                self._last = await asyncio.to_thread(self._ask)
                self._checked = time.monotonic()
            return self._last


@dataclass
class IngestState:
    settings: Settings
    options: IngestOptions
    publisher: Publisher | None
    catalogue: CatalogueSource
    keys: DeviceKeys
    visitors: VisitorHasher
    readiness: Readiness
    visitor_limiter: RateLimiter = field(init=False)
    ip_limiter: RateLimiter = field(init=False)
    # Rate limiting by IP keys its buckets by a keyed hash under this per-process secret, so
    # not even memory holds an address; nothing about an IP is ever written anywhere.
    _ip_secret: bytes = field(default_factory=lambda: os.urandom(32))

    def __post_init__(self) -> None:
        o = self.options
        self.visitor_limiter = RateLimiter(o.visitor_rate_per_minute / 60, o.visitor_burst)
        self.ip_limiter = RateLimiter(o.ip_rate_per_minute / 60, o.ip_burst)

    def ip_key(self, request: Request) -> str:
        host = request.client.host if request.client else "unknown"
        return hmac.new(self._ip_secret, host.encode(), hashlib.sha256).hexdigest()


def get_state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state
