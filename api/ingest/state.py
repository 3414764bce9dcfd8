"""What the ingest routes share: options, publisher, catalogue, keys, limiters, readiness."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from fastapi import Request

from civicpulse.api.ingest.catalogue_source import CatalogueSource
from civicpulse.api.ingest.keys import DeviceKeys
from civicpulse.api.ingest.ratelimit import RateLimiter
from civicpulse.api.ingest.visitors import VisitorHasher
from civicpulse.producers.kafka_producer import Delivery
from civicpulse.schemas.events import PressEvent
from civicpulse.schemas.settings import Settings

__all__ = ["IngestOptions", "IngestState", "Publisher", "Readiness", "get_state"]


@dataclass(frozen=True)
class IngestOptions:
    """Ingest limits. Defaults suit a city: widget limits are per visitor and per IP.

    ``from_settings`` takes the body limits from ``CIVICPULSE_API_*`` and the largest
    ``max_future`` of the anti-spam rules; the rest are built-in.
    """

    max_batch: int = 500
    #: largest body of a terminal batch; 500 presses of the largest valid size fit
    max_body_bytes: int = 256_000
    web_body_bytes: int = 4096
    other_body_bytes: int = 16_384
    body_seconds: float = 10.0
    visitor_rate_per_minute: float = 6.0
    visitor_burst: int = 3
    ip_rate_per_minute: float = 120.0
    ip_burst: int = 60
    #: wrong device keys tolerated per device id and per client address before 429
    wrong_key_device_per_minute: float = 6.0
    wrong_key_device_burst: int = 10
    wrong_key_ip_per_minute: float = 30.0
    wrong_key_ip_burst: int = 20
    #: the largest ``max_future`` of any channel or site; a press later than received_at +
    #: max_future + margin could never be counted and is refused (422)
    max_future_seconds: float = 300.0
    future_margin_seconds: float = 3600.0
    ready_cache_seconds: float = 3.0
    ready_timeout_seconds: float = 2.0
    retry_after_seconds: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestOptions:
        from civicpulse.stream.stages.antispam.rules import RuleBook

        book = RuleBook.load(settings.rules_file)
        rules = [*book.channels.values(), *book.sites.values()]
        return cls(
            max_body_bytes=settings.api_batch_body_bytes,
            web_body_bytes=settings.api_web_body_bytes,
            other_body_bytes=settings.api_body_bytes,
            body_seconds=settings.api_body_seconds,
            max_future_seconds=max(r.max_future.total_seconds() for r in rules),
        )

    @property
    def future_limit(self) -> timedelta:
        return timedelta(seconds=self.max_future_seconds + self.future_margin_seconds)


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
        from civicpulse.infra import kafka_clients

        if self._admin is None:
            self._admin = kafka_clients.admin(self.settings, "readiness")
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
    wrong_key_by_device: RateLimiter = field(init=False)
    wrong_key_by_ip: RateLimiter = field(init=False)
    #: scrypt key checks in flight at once (see ingest._authenticate)
    key_checks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    # Rate limiting by IP keys its buckets by a keyed hash under this per-process secret, so
    # not even memory holds an address; nothing about an IP is ever written anywhere.
    _ip_secret: bytes = field(default_factory=lambda: os.urandom(32))

    def __post_init__(self) -> None:
        o = self.options
        self.visitor_limiter = RateLimiter(o.visitor_rate_per_minute / 60, o.visitor_burst)
        self.ip_limiter = RateLimiter(o.ip_rate_per_minute / 60, o.ip_burst)
        self.wrong_key_by_device = RateLimiter(
            o.wrong_key_device_per_minute / 60, o.wrong_key_device_burst
        )
        self.wrong_key_by_ip = RateLimiter(o.wrong_key_ip_per_minute / 60, o.wrong_key_ip_burst)

    def ip_key(self, host: str) -> str:
        """A keyed hash of a client address: a bucket key that is no IP address."""
        return hmac.new(self._ip_secret, host.encode(), hashlib.sha256).hexdigest()

    def request_ip_key(self, request: Request) -> str:
        return self.ip_key(request.client.host if request.client else "unknown")


def get_state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state
