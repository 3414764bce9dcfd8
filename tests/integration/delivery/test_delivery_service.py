"""The delivery service against the real broker, a real HTTP server and a real SMTP server.

- a subscriber answering 500 three times then 200 gets the event exactly once more after the
  success (4 requests, one Idempotency-Key, every body signed), while another subscriber of the
  same event gets it at once (lanes do not wait for each other);
- the mail arrives in Polish with a plain and an HTML part, the worst site of the window (from
  the scores topic, names from the catalogue topic) and the link to the department page;
- the event's offset is committed once both settled; a failing subscriber is dead-lettered with
  the reason (after the last try, or at once on a 4xx), and so is a message that is no alert;
  an event written longer ago than the maximum age is committed unsent;
- escalation: an opened alert nobody acknowledged goes to escalate_to; one acknowledged on
  alerts.actions does not, and one acknowledged before it was read is not sent at all.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from civicpulse.schemas.events import DeadLetter
from civicpulse.schemas.topics import ALERTS_ALL, DEADLETTER, topic_name

from .receivers import MailReceiver, WebhookReceiver, wait_until
from .setup import (
    ServiceThread,
    alert_event,
    committed,
    prepare,
    produce,
    produce_action,
    produce_alerts,
    produce_scores,
    settings_for,
    site_score,
)

pytestmark = pytest.mark.integration

SECRET = "flaky-subscriber-secret-0123"


def test_retries_do_not_block_others_and_mail_is_polish(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    prepare(kafka_bootstrap, topic_prefix)
    window_end = datetime.now(UTC).replace(second=0, microsecond=0)
    produce_scores(kafka_bootstrap, topic_prefix, [
        site_score("s-1", window_end, [3, 4, 2, 3]),
        site_score("s-2", window_end, [1, 1, 2, 1]),
        site_score("s-2", window_end - timedelta(minutes=1), [4, 4, 4, 4]),  # an older window
    ])  # fmt: skip
    event = alert_event(window_end)
    with WebhookReceiver(scripts={"/flaky": [500, 500, 500]}) as hooks, MailReceiver() as mail:
        toml = f"""
[[subscription]]
department = "d-civil"
webhook = "{hooks.url("/flaky")}"
secret = "{SECRET}"
email = ["head@civil.example", "deputy@civil.example"]

[[subscription]]
department = "*"
webhook = "{hooks.url("/steady")}"
format = "slack"
lang = "en"
"""
        settings = settings_for(
            kafka_bootstrap, topic_prefix, tmp_path, smtp_host="127.0.0.1",
            smtp_port=mail.port, smtp_starttls=False, smtp_from="alerts@city.example",
        )  # fmt: skip
        with ServiceThread(settings, toml):
            produce_alerts(kafka_bootstrap, topic_prefix, [event])
            wait_until(lambda: len(hooks.at("/flaky")) == 4, 30, "the fourth try")
            wait_until(lambda: committed(kafka_bootstrap, topic_prefix) == 1, 15, "the commit")
            time.sleep(1.5)  # time for a wrong fifth try (back-off is 0.1-1 s here)
            flaky, steady = hooks.at("/flaky"), hooks.at("/steady")
            assert len(flaky) == 4 and len(steady) == 1
        assert steady[0].at < flaky[1].at, "the steady subscriber waited for the flaky one"
        assert {r.key for r in flaky} == {f"{event.alert_id}:opened"}
        assert [r.headers["x-civicpulse-attempt"] for r in flaky] == ["1", "2", "3", "4"]
        assert all(r.signed_with(SECRET) for r in flaky)
        assert flaky[0].body == event.model_dump_json().encode()
        assert "blocks" in steady[0].body.decode()
        (message,) = mail.messages
        assert message["To"] == "head@civil.example, deputy@civil.example"
        assert message["Subject"] == "Niskie zadowolenie: Wydział Spraw Obywatelskich (wydział)"
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert plain is not None and html is not None
        for text in (plain.get_content(), html.get_content()):
            assert "Wynik" in text and "31,2 (próg 50,0)" in text
            assert "Filia Północ: 8,3 z 4 ocen" in text  # the worst site of this window
            assert "http://city.example/live/departments/d-civil?lang=pl" in text
        assert sorted(mail.collector.envelopes[0][1]) == [
            "deputy@civil.example", "head@civil.example",
        ]  # fmt: skip


def _dead_letters(bootstrap: str, prefix: str, count: int) -> list[DeadLetter]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([topic_name(DEADLETTER, prefix)])
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + 20
    try:
        while len(letters) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                letters.append(DeadLetter.model_validate_json(message.value()))
    finally:
        consumer.close()
    return letters


def test_last_try_and_refusals_go_to_deadletter_then_commit(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    prepare(kafka_bootstrap, topic_prefix)
    event = alert_event()
    with WebhookReceiver(scripts={"/down": [503] * 10, "/gone": [410]}) as hooks:
        toml = f"""
[[subscription]]
name = "down"
department = "d-civil"
webhook = "{hooks.url("/down")}"
secret = "{SECRET}"

[[subscription]]
name = "gone"
department = "d-civil"
webhook = "{hooks.url("/gone")}"
secret = "{SECRET}"
"""
        settings = settings_for(kafka_bootstrap, topic_prefix, tmp_path, delivery_attempts=3)
        with ServiceThread(settings, toml):
            produce_alerts(kafka_bootstrap, topic_prefix, [event])
            produce(kafka_bootstrap, topic_name(ALERTS_ALL, topic_prefix), [(b"x", b"{not json")])
            # written two days ago (a new group reading old history): settled, not sent
            old = Producer({"bootstrap.servers": kafka_bootstrap})
            old.produce(topic_name(ALERTS_ALL, topic_prefix), alert_event().model_dump_json(),
                        timestamp=int((time.time() - 2 * 86400) * 1000))  # fmt: skip
            assert old.flush(10) == 0
            wait_until(lambda: committed(kafka_bootstrap, topic_prefix) == 3, 30, "commits")
        assert len(hooks.at("/down")) == 3 and len(hooks.at("/gone")) == 1
    letters = {
        letter.error.split(" ")[4] if "delivery of" in letter.error else "raw": letter
        for letter in _dead_letters(kafka_bootstrap, topic_prefix, 3)
    }
    assert set(letters) == {"down", "gone", "raw"}
    assert letters["down"].error.endswith("failed after 3 tries: HTTP 503 Service Unavailable")
    assert letters["gone"].error.endswith("failed after 1 try: HTTP 410 Gone")
    assert letters["raw"].error.startswith("not an alert event")
    assert letters["down"].payload == event.model_dump_json()
    assert letters["down"].stage == "delivery"
    assert letters["down"].source_topic == topic_name(ALERTS_ALL, topic_prefix)
    assert letters["down"].source_offset is not None


def test_unacknowledged_alerts_escalate_acknowledged_ones_do_not(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    prepare(kafka_bootstrap, topic_prefix)
    early = alert_event()
    produce_action(kafka_bootstrap, topic_prefix, early.alert_id, "ack")  # before the alert
    with WebhookReceiver() as hooks:
        toml = f"""
[[subscription]]
department = "d-civil"
webhook = "{hooks.url("/civil")}"
secret = "{SECRET}"
escalate_after = "3s"
escalate_to = ["{hooks.url("/pager")}"]
"""
        settings = settings_for(kafka_bootstrap, topic_prefix, tmp_path)
        with ServiceThread(settings, toml):
            ignored, handled = alert_event(), alert_event()
            produce_alerts(kafka_bootstrap, topic_prefix, [ignored, handled, early])
            wait_until(lambda: len(hooks.at("/civil")) == 2, 15, "two openings")
            produce_action(kafka_bootstrap, topic_prefix, handled.alert_id, "ack")
            wait_until(lambda: len(hooks.at("/pager")) == 1, 15, "the escalation")
            time.sleep(1.0)  # the acknowledged alert's escalation was due with the other one
        assert {r.key for r in hooks.at("/civil")} == {
            f"{ignored.alert_id}:opened", f"{handled.alert_id}:opened",
        }  # fmt: skip
        assert [r.key for r in hooks.at("/pager")] == [f"{ignored.alert_id}:escalated"]
        assert hooks.at("/pager")[0].signed_with(SECRET)


def test_a_lane_that_raises_stops_the_service_without_committing(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug in rendering (not a failed try) must not leave a dead lane holding its event
    # unsettled in a live service: the service stops and nothing past the event is committed.
    from civicpulse.sink.delivery import service
    from civicpulse.sink.delivery.exceptions import DeliveryError

    def broken(*args: object) -> bytes:
        raise RuntimeError("a rendering bug")

    monkeypatch.setattr(service, "webhook_body", broken)
    prepare(kafka_bootstrap, topic_prefix)
    with WebhookReceiver() as hooks:
        toml = f"""
[[subscription]]
department = "d-civil"
webhook = "{hooks.url("/h")}"
secret = "{SECRET}"
"""
        running = ServiceThread(settings_for(kafka_bootstrap, topic_prefix, tmp_path), toml)
        with pytest.raises(DeliveryError, match="a rendering bug"), running:
            produce_alerts(kafka_bootstrap, topic_prefix, [alert_event()])
            wait_until(lambda: running.error is not None, 20, "the service to stop")
        assert hooks.requests == []
    assert committed(kafka_bootstrap, topic_prefix) == 0
