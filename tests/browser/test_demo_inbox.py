"""The demo's /demo/inbox page in Chromium: a delivered webhook (its signed JSON) and the mail
(its HTML part in a sandboxed frame, as the mailbox got it), newest first; screenshot
docs/screenshots/demo-inbox.png for docs/alerts.md."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from civicpulse.demo.inbox import Received, inbox_page, mail_entry, webhook_entry
from civicpulse.sink.delivery.matching import deliveries_for
from civicpulse.sink.delivery.render import AlertContext, SiteFigure, email_message, json_body
from civicpulse.sink.delivery.senders import signature
from tests.unit.sink.delivery.alerts import alert, subscription

from .pixels import distinct_colours, keep_screenshot

pytestmark = pytest.mark.browser


def _entries() -> list[Received]:
    event = alert()
    at = datetime(2026, 12, 4, 13, 20, 2, tzinfo=UTC)
    key = f"{event.alert_id}:opened"
    (delivery,) = deliveries_for(event, (subscription(webhook=None),))
    context = AlertContext("Wydział Spraw Obywatelskich", "Wydział Spraw Obywatelskich",
                           "http://127.0.0.1:8000/live/departments/d-civil?lang=pl",
                           worst_site=SiteFigure("Filia Północ", 8.3, 4))  # fmt: skip
    mail = email_message(delivery, event, context, sender="civicpulse-demo@localhost", now=at)
    parsed = email.message_from_bytes(bytes(mail), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = json_body(event)
    secret = "demo-secret-0123456789abcdef"
    headers = {"idempotency-key": key, "x-civicpulse-signature": signature(body, secret)}
    hook = replace(webhook_entry(body, headers, secret), at=at)
    return [hook, replace(mail_entry(parsed), at=at)]


def test_demo_inbox_page_shows_the_mail_and_the_webhook(
    browser_context: Any, tmp_path: Path
) -> None:
    page = browser_context.new_page()
    page.set_viewport_size({"width": 760, "height": 900})
    page.set_content(inbox_page(_entries()))
    headings = page.locator("article h2").all_inner_texts()
    assert headings == [
        "e-mail: Niskie zadowolenie: Wydział Spraw Obywatelskich (wydział)",
        "webhook: opened low_score alert: department d-civil",
    ]
    assert "signature ok" in page.locator("article").nth(1).inner_text()
    assert '"alert_id": "7b0c3c52' in page.locator("pre").inner_text()
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text().startswith("Niskie zadowolenie")
    assert frame.get_by_text("Filia Północ: 8,3 z 4 ocen").is_visible()
    # sandboxed: the mail's HTML runs no script and cannot reach the page
    assert page.locator("iframe").get_attribute("sandbox") == ""
    png = page.screenshot(full_page=True)
    assert distinct_colours(png) > 20
    keep_screenshot(png, tmp_path, "demo-inbox.png")
