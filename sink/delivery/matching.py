"""Which subscription receives which alert event, through which channel, under which
idempotency key (pure).

One *delivery* is one event to one channel (webhook or e-mail) of one subscription: each is
tried, retried and dead-lettered on its own, so a dead mail server never delays a webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from civicpulse.schemas.events import AlertEvent
from civicpulse.sink.delivery.subscriptions import Format, Subscription

__all__ = [
    "Channel",
    "Delivery",
    "Occasion",
    "deliveries_for",
    "escalates",
    "escalations_for",
    "idempotency_key",
    "wants",
]

Channel = Literal["webhook", "email"]
#: ``alert``: the event as it happened; ``escalation``: an opened alert nobody acknowledged
Occasion = Literal["alert", "escalation"]


@dataclass(frozen=True)
class Delivery:
    """One event to one channel of one subscription."""

    subscription: Subscription
    channel: Channel
    occasion: Occasion
    #: the webhook URL, or the mail's recipients
    targets: tuple[str, ...]
    key: str

    @property
    def format(self) -> Format:
        return self.subscription.format

    @property
    def lane(self) -> tuple[int, Channel, Occasion]:
        """Deliveries of one lane go out in event order; lanes never wait for each other."""
        return (self.subscription.index, self.channel, self.occasion)


def idempotency_key(event: AlertEvent, occasion: Occasion) -> str:
    """The alert's id and what happened to it: ``<alert_id>:opened``, ``...:resolved``,
    ``...:escalated``. The opening and the resolution of one alert share its id, so the bare id
    would make a receiver that deduplicates drop the resolution. Stable across attempts,
    restarts and subscriptions (a receiver behind two subscriptions sees one key per event)."""
    what = "escalated" if occasion == "escalation" else event.state
    return f"{event.alert_id}:{what}"


def wants(subscription: Subscription, event: AlertEvent) -> bool:
    """Does the subscription receive this event at all?"""
    if subscription.department not in ("*", event.department_id):
        return False
    if event.kind == "recognition" and not subscription.positive:
        return False
    silenced = subscription.silenced_until
    # Judged at the event's own time, so a replay after a restart decides the same way.
    return silenced is None or event.at >= silenced


def deliveries_for(event: AlertEvent, subscriptions: tuple[Subscription, ...]) -> list[Delivery]:
    """Every delivery one event needs, in subscription order."""
    key = idempotency_key(event, "alert")
    out: list[Delivery] = []
    for sub in subscriptions:
        if not wants(sub, event):
            continue
        if sub.webhook is not None:
            out.append(Delivery(sub, "webhook", "alert", (sub.webhook,), key))
        if sub.email:
            out.append(Delivery(sub, "email", "alert", sub.email, key))
    return out


def escalates(subscription: Subscription, event: AlertEvent) -> bool:
    """Is an opened alert of this kind escalated by this subscription when nobody acks it?"""
    return (
        subscription.escalate_after is not None
        and event.state == "opened"
        and event.kind != "recognition"
        and wants(subscription, event)
    )


def escalations_for(event: AlertEvent, subscription: Subscription) -> list[Delivery]:
    """The deliveries of an escalation: ``escalate_to`` split into webhooks and addresses."""
    key = idempotency_key(event, "escalation")
    urls = [t for t in subscription.escalate_to if "://" in t]
    emails = tuple(t for t in subscription.escalate_to if "://" not in t)
    out = [Delivery(subscription, "webhook", "escalation", (url,), key) for url in urls]
    if emails:
        out.append(Delivery(subscription, "email", "escalation", emails, key))
    return out
