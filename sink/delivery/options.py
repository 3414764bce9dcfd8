"""The delivery service's configuration and counters, and what it asks of a context source.

Apart from :mod:`.service` so that the CLI, the tests and the demo can build options without
the consumer loop's imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.sink.delivery.backoff import RetryPolicy
from civicpulse.sink.delivery.render import AlertContext
from civicpulse.sink.delivery.senders import SmtpConfig
from civicpulse.sink.delivery.subscriptions import Subscription, SubscriptionLang

__all__ = ["ContextSource", "DeliveryOptions", "DeliveryStats", "group_id"]


class ContextSource(Protocol):
    def context(self, event: AlertEvent, lang: SubscriptionLang) -> AlertContext: ...


def group_id(prefix: str) -> str:
    """The delivery's consumer group on ``alerts.all``."""
    return f"{prefix}civicpulse-delivery"


@dataclass(frozen=True)
class DeliveryOptions:
    subscriptions: tuple[Subscription, ...]
    policy: RetryPolicy
    smtp: SmtpConfig | None
    state_file: Path
    #: events written longer ago than this are settled unsent (a new group skips old history)
    max_age: timedelta = timedelta(hours=24)
    #: seconds a stopping service waits for deliveries in flight
    stop_grace: float = 10.0

    @classmethod
    def from_settings(
        cls, settings: Settings, subscriptions: tuple[Subscription, ...]
    ) -> DeliveryOptions:
        return cls(
            subscriptions=subscriptions,
            policy=RetryPolicy(
                settings.delivery_attempts, settings.delivery_backoff, settings.delivery_backoff_max
            ),
            smtp=SmtpConfig.from_settings(settings),
            state_file=settings.data_dir / "delivery" / f"{group_id(settings.topic_prefix)}.json",
        )


@dataclass
class DeliveryStats:
    events: int = 0
    delivered: int = 0
    dead_lettered: int = 0
    #: not sent on purpose: acknowledged first, or older than max_age
    skipped: int = 0
    escalations: int = 0
