"""Who receives what: department, recognition opt-in, silence, idempotency keys, escalation."""

from __future__ import annotations

from datetime import timedelta

from civicpulse.sink.delivery.matching import (
    deliveries_for,
    escalates,
    escalations_for,
    idempotency_key,
    wants,
)

from .alerts import AT, alert, subscription


def test_department_and_star_match() -> None:
    event = alert()
    assert wants(subscription(department="d-civil"), event)
    assert wants(subscription(department="*"), event)
    assert not wants(subscription(department="d-roads"), event)


def test_recognition_only_for_positive_subscriptions() -> None:
    event = alert(kind="recognition", score=92.0, threshold=85.0)
    assert not wants(subscription(), event)
    assert wants(subscription(positive=True), event)
    assert wants(subscription(), alert(kind="silent_device", scope="device", scope_id="t-1",
                                       score=0.0, n=0))  # fmt: skip


def test_silence_is_judged_at_the_event_time() -> None:
    sub = subscription(silenced_until=AT + timedelta(minutes=1))
    assert not wants(sub, alert())
    assert wants(sub, alert(at=AT + timedelta(minutes=1)))


def test_one_delivery_per_channel_with_a_key_per_event() -> None:
    opened, resolved = alert(), alert(state="resolved")
    subs = (subscription(1), subscription(2, webhook=None), subscription(3, department="d-x"))
    deliveries = deliveries_for(opened, subs)
    assert [(d.subscription.index, d.channel) for d in deliveries] == [
        (1, "webhook"), (1, "email"), (2, "email"),
    ]  # fmt: skip
    assert {d.key for d in deliveries} == {f"{opened.alert_id}:opened"}
    assert deliveries_for(resolved, subs)[0].key == f"{opened.alert_id}:resolved"
    # lanes: a subscription's webhook and e-mail never wait for each other
    assert len({d.lane for d in deliveries}) == 3


def test_escalation_splits_addresses_and_urls() -> None:
    sub = subscription(
        escalate_after="30m", escalate_to=["deputy@city.example", "https://pager.example/h"]
    )
    event = alert()
    assert escalates(sub, event)
    assert not escalates(sub, alert(state="resolved"))
    assert not escalates(sub, alert(kind="recognition"))
    assert not escalates(subscription(), event)
    out = escalations_for(event, sub)
    assert [(d.channel, d.targets) for d in out] == [
        ("webhook", ("https://pager.example/h",)), ("email", ("deputy@city.example",)),
    ]  # fmt: skip
    assert {d.key for d in out} == {idempotency_key(event, "escalation")}
    assert idempotency_key(event, "escalation").endswith(":escalated")
