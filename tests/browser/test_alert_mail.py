"""The alert e-mail's HTML part as a mail client shows it: rendered by a real Chromium from the
exact bytes the SMTP sender sends (Polish), checked for its facts and link, and kept as
docs/screenshots/alert-mail.png for docs/alerts.md."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from civicpulse.sink.delivery.matching import deliveries_for
from civicpulse.sink.delivery.render import AlertContext, SiteFigure, email_message
from tests.unit.sink.delivery.alerts import alert, subscription

from .pixels import distinct_colours, keep_screenshot

pytestmark = pytest.mark.browser


def _html_part() -> str:
    event = alert()
    (delivery,) = deliveries_for(event, (subscription(webhook=None, lang="pl"),))
    context = AlertContext(
        department_name="Wydział Spraw Obywatelskich",
        scope_name="Wydział Spraw Obywatelskich",
        live_url="https://civicpulse.city.example/live/departments/d-civil?lang=pl",
        worst_site=SiteFigure("Filia Północ", 8.3, 4),
    )
    mail = email_message(delivery, event, context, sender="alerty@city.example",
                         now=datetime(2026, 12, 4, 13, 21, tzinfo=UTC))  # fmt: skip
    parsed = email.message_from_bytes(bytes(mail), policy=email.policy.default)
    part = parsed.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_alert_mail_renders_in_chromium(browser_context: Any, tmp_path: Path) -> None:
    page = browser_context.new_page()
    page.set_viewport_size({"width": 640, "height": 420})
    page.set_content(_html_part())
    heading = page.locator("h1")
    assert heading.inner_text() == "Niskie zadowolenie: Wydział Spraw Obywatelskich (wydział)"
    assert heading.is_visible()
    rows = {
        page.locator("th").nth(i).inner_text(): page.locator("td").nth(i).inner_text()
        for i in range(page.locator("th").count())
    }
    assert rows["Wynik"] == "31,2 (próg 50,0)"
    assert rows["Okno"] == "2026-12-04 14:05–14:20 (Europe/Warsaw)"
    assert rows["Liczba ocen"] == "8"
    assert rows["Najsłabsza placówka"] == "Filia Północ: 8,3 z 4 ocen"
    link = page.get_by_role("link", name="Otwórz stronę wydziału na żywo")
    assert link.is_visible()
    assert link.get_attribute("href") == (
        "https://civicpulse.city.example/live/departments/d-civil?lang=pl"
    )
    # the red top border and button of a low-score alert are drawn (not a blank page)
    colour = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert colour == "rgb(180, 35, 24)"
    png = page.screenshot(full_page=True)
    assert distinct_colours(png) > 20
    keep_screenshot(png, tmp_path, "alert-mail.png")
