"""Messages: the JSON body is the event; Slack, Teams and e-mail say the same facts in pl/en."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from civicpulse.schemas.events import AlertEvent
from civicpulse.sink.delivery.matching import deliveries_for, escalations_for
from civicpulse.sink.delivery.render import (
    AlertContext,
    SiteFigure,
    email_message,
    message,
    webhook_body,
)
from civicpulse.sink.delivery.texts import TEXTS

from .alerts import alert, subscription

CONTEXT = AlertContext(
    department_name="Civil Affairs",
    scope_name="Civil Affairs",
    live_url="http://city.example/live/departments/d-civil?lang=pl",
    worst_site=SiteFigure("Town Hall <desk hall>", 12.5, 4),
)


def test_every_text_exists_in_both_languages() -> None:
    assert set(TEXTS["pl"]) == set(TEXTS["en"])


def test_json_body_is_the_alert_event() -> None:
    event = alert()
    (delivery, _) = deliveries_for(event, (subscription(),))
    body = webhook_body(delivery, event, CONTEXT)
    assert AlertEvent.model_validate_json(body) == event
    assert orjson.loads(body)["alert_id"] == str(event.alert_id)


def test_polish_message_has_score_window_in_city_time_presses_worst_site_and_link() -> None:
    content = message(alert(), CONTEXT, "pl")
    facts = dict(content.facts)
    assert content.title == "Niskie zadowolenie: Civil Affairs (wydział)"
    assert facts["Wynik"] == "31,2 (próg 50,0)"
    # 13:05-13:20 UTC is 14:05-14:20 in Warsaw in December
    assert facts["Okno"] == "2026-12-04 14:05–14:20 (Europe/Warsaw)"
    assert facts["Liczba ocen"] == "8"
    assert facts["Najsłabsza placówka"] == "Town Hall <desk hall>: 12,5 z 4 ocen"
    assert content.link == CONTEXT.live_url


def test_english_resolution_and_missing_worst_site() -> None:
    context = AlertContext("Civil Affairs", "Civil Affairs", "http://x/", worst_site=None)
    content = message(alert(state="resolved", score=71.0), context, "en")
    assert content.title == "Satisfaction recovered: Civil Affairs (department)"
    assert dict(content.facts)["Worst site"] == "no site figures for this window"
    assert content.tone == "good"


def test_silent_device_and_escalation() -> None:
    event = alert(kind="silent_device", scope="device", scope_id="t-7", site_id="s-1", score=0.0,
                  n=0, threshold=60.0, expected_presses=11.5,
                  window_start=datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # fmt: skip
    content = message(event, CONTEXT, "en")
    assert content.lead == "No presses for 4 h 20 min during opening hours."
    assert dict(content.facts)["Usually in these hours"] == "11.5"
    escalated = message(alert(), CONTEXT, "en", "escalation", timedelta(minutes=30))
    assert escalated.title.startswith("Not acknowledged for 30 min: Low satisfaction")
    assert escalated.hint and escalated.tone == "warn"
    quick = message(alert(), CONTEXT, "pl", "escalation", timedelta(seconds=20))
    assert quick.title.startswith("Bez potwierdzenia od 20 s: Niskie zadowolenie")


def test_slack_payload_is_block_kit_with_a_fallback_text() -> None:
    event = alert()
    sub = subscription(format="slack", secret=None, lang="en")
    (delivery, _) = deliveries_for(event, (sub,))
    payload = orjson.loads(webhook_body(delivery, event, CONTEXT))
    assert payload["text"].startswith("Low satisfaction: Civil Affairs")
    kinds = [block["type"] for block in payload["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    fields = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert "*Score*\n31.2 (threshold 50.0)" in fields
    assert f"<{CONTEXT.live_url}|" in payload["blocks"][3]["elements"][0]["text"]


def test_teams_payload_is_an_adaptive_card_message() -> None:
    event = alert()
    (delivery, _) = deliveries_for(event, (subscription(format="teams", lang="en"),))
    payload = orjson.loads(webhook_body(delivery, event, CONTEXT))
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Presses"] == "8"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the department's live page",
         "url": CONTEXT.live_url}
    ]  # fmt: skip


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_email_has_plain_and_escaped_html_parts(lang: str) -> None:
    event = alert()
    sub = subscription(lang=lang, webhook=None)
    (delivery,) = deliveries_for(event, (sub,))
    mail = email_message(delivery, event, CONTEXT, sender="alerts@city.example",
                         now=datetime(2026, 12, 4, 13, 21, tzinfo=UTC))  # fmt: skip
    parsed = email.message_from_bytes(bytes(mail), policy=email.policy.default)
    assert parsed["To"] == "head@civil.example"
    assert parsed["Message-ID"] == f"<{event.alert_id}.opened.1@city.example>"
    assert parsed["Idempotency-Key"] == f"{event.alert_id}:opened"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    plain_text, html_text = plain.get_content(), html.get_content()
    assert CONTEXT.live_url in plain_text and "Town Hall <desk hall>" in plain_text
    assert "Town Hall &lt;desk hall&gt;" in html_text and "<desk hall>" not in html_text
    assert f'lang="{lang}"' in html_text
    word = {"pl": "Wynik", "en": "Score"}[lang]
    assert word in plain_text and word in html_text


def test_escalation_mail_goes_to_escalate_to() -> None:
    sub = subscription(escalate_after="1h", escalate_to=["deputy@city.example"])
    (delivery,) = escalations_for(alert(), sub)
    mail = email_message(delivery, alert(), CONTEXT, sender="a@b.c",
                         now=datetime(2026, 12, 4, tzinfo=UTC))  # fmt: skip
    assert mail["To"] == "deputy@city.example"
    assert str(mail["Subject"]).startswith("Bez potwierdzenia od 1 h: ")
