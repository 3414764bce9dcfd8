"""What a message needs beyond the alert event: names from the catalogue, the worst site of a
department in the alert's window, and the link to the department's live page.

:func:`alert_context` is pure (catalogue + the latest site scores in, :class:`AlertContext`
out). :class:`LiveContext` feeds it in the service: the catalogue from the compacted
``catalogue.devices`` topic (the stream's own reader) and the latest closed 15-minute score per
site from ``scores`` (one entry per site, so memory stays bounded whatever the traffic). The
stream writes a window's scores before the alert that window raised, so reading ``scores`` up to
its end before a department alert is rendered sees that window's site scores.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from civicpulse.infra import kafka_clients
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import AlertEvent, ScoreEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import CATALOGUE_DEVICES, SCORES, topic_name
from civicpulse.sink.delivery.render import AlertContext, SiteFigure
from civicpulse.sink.delivery.subscriptions import SubscriptionLang

__all__ = ["LiveContext", "SiteScore", "alert_context", "department_url"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteScore:
    """The latest closed 15-minute citizen score of one site."""

    window_end: datetime
    score: float
    n: int


def department_url(public_url: str, department_id: str, lang: SubscriptionLang) -> str:
    """The department's live page (``/live/departments/{id}``) in the reader's language."""
    return f"{public_url.rstrip('/')}/live/departments/{quote(department_id, safe='')}?lang={lang}"


def alert_context(
    event: AlertEvent,
    catalogue: Catalogue,
    site_scores: Mapping[str, SiteScore],
    *,
    public_url: str,
    timezone: str,
    lang: SubscriptionLang,
) -> AlertContext:
    """Names and the worst site of ``event``'s department in the event's own window."""
    departments = {d.department_id: d.name for d in catalogue.departments}
    sites = {s.site_id: s for s in catalogue.sites}
    department_name = departments.get(event.department_id, event.department_id)
    if event.scope == "department":
        scope_name = department_name
    elif event.scope == "site":
        site = sites.get(event.scope_id)
        scope_name = site.name if site else event.scope_id
    else:
        site = sites.get(event.site_id or "")
        scope_name = f"{event.scope_id} ({site.name})" if site else event.scope_id
    worst = None
    if event.scope == "department":
        candidates = [
            (score.score, site.name, score.n)
            for site in catalogue.sites
            if site.department_id == event.department_id
            and (score := site_scores.get(site.site_id)) is not None
            and score.window_end == event.window_end
            and score.n > 0
        ]
        if candidates:
            value, name, n = min(candidates)
            worst = SiteFigure(name, value, n)
    return AlertContext(
        department_name=department_name,
        scope_name=scope_name,
        live_url=department_url(public_url, event.department_id, lang),
        timezone=timezone,
        worst_site=worst,
    )


class LiveContext:
    """The catalogue and the latest site scores, followed on their topics in threads."""

    def __init__(self, settings: Settings) -> None:
        from civicpulse.stream.catalogue.topic import CatalogueReader

        self.settings = settings
        prefix = settings.topic_prefix
        self._catalogue = CatalogueReader(
            settings.bootstrap_servers, topic_name(CATALOGUE_DEVICES, prefix)
        )
        self._scores_topic = topic_name(SCORES, prefix)
        self._scores: dict[str, SiteScore] = {}
        #: next offset to read per scores partition
        self._next: dict[int, int] = {}
        self._consumer: Any = None
        self._probe: Any = None
        # Lanes render in threads: one of them reads the scores topic at a time.
        self._lock = threading.Lock()

    def start(self) -> None:
        self._catalogue.start()
        self._consumer = self._scores_reader()
        self._probe = kafka_clients.consumer(
            self.settings, f"civicpulse-delivery-probe-{uuid.uuid4().hex}", "delivery-follow"
        )

    def _scores_reader(self) -> Any:
        from confluent_kafka import TopicPartition

        consumer = kafka_clients.consumer(
            self.settings, f"civicpulse-delivery-scores-{uuid.uuid4().hex}", "delivery-follow"
        )
        metadata = consumer.list_topics(self._scores_topic, timeout=10).topics[self._scores_topic]
        # The rolling window is 15 minutes: older closed windows cannot be an alert's window.
        since = int((datetime.now(UTC) - timedelta(minutes=20)).timestamp() * 1000)
        wanted = [TopicPartition(self._scores_topic, p, since) for p in metadata.partitions]
        starts = consumer.offsets_for_times(wanted, timeout=10) if wanted else []
        for part in starts:
            if part.offset < 0:  # nothing that recent: start at the end
                part.offset = consumer.get_watermark_offsets(part, timeout=10)[1]
            self._next[part.partition] = part.offset
        consumer.assign(starts)
        return consumer

    def catch_up(self, timeout: float = 2.0) -> None:
        """Read ``scores`` up to the end it has now (called before rendering a department
        alert, so the window that raised it is in)."""
        consumer = self._consumer
        # Asked of a client that fetches nothing: the reader's own broker connection is busy
        # with a long-poll fetch, which delays each watermark query by fetch.wait.max.ms.
        ends = {
            part.partition: self._probe.get_watermark_offsets(part, timeout=timeout, cached=False)[
                1
            ]
            for part in consumer.assignment()
        }
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while any(self._next.get(p, 0) < end for p, end in ends.items()):
            if datetime.now(UTC) >= deadline:
                log.warning(
                    "scores not read to their end within %.1fs: worst site may lag", timeout
                )
                return
            for message in consumer.consume(500, 0.05):
                if message.error() is None:
                    self._next[message.partition()] = message.offset() + 1
                    self._take(message.value())

    def _take(self, value: bytes) -> None:
        try:
            score = ScoreEvent.model_validate_json(value)
        except ValidationError:
            return
        if score.scope != "site" or score.window != "15m" or score.kind != "citizen":
            return
        if score.score is None:
            return
        latest = self._scores.get(score.scope_id)
        if latest is None or latest.window_end <= score.window_end:
            self._scores[score.scope_id] = SiteScore(score.window_end, score.score, score.n)

    def catalogue(self) -> Catalogue:
        """The latest catalogue read from its topic."""
        return self._catalogue.index().catalogue

    def context(self, event: AlertEvent, lang: SubscriptionLang) -> AlertContext:
        with self._lock:
            if event.scope == "department" and event.kind == "low_score":
                self.catch_up()
            return alert_context(
                event,
                self._catalogue.index().catalogue,
                self._scores,
                public_url=self.settings.public_url,
                timezone=self.settings.city_timezone,
                lang=lang,
            )

    def stop(self) -> None:
        self._catalogue.stop()
        for client in (self._consumer, self._probe):
            if client is not None:
                client.close()
