"""``/m/{device}``, the page a desk's QR code opens, in real headless Chromium at a phone's size:
a tapped face reaches presses.raw on the real broker as a web press (the widget's anti-spam
path), in Polish and English, without sideways scrolling; unknown or terminal devices get 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.presses_consumer import read_topic

from .conftest import LiveApi
from .pixels import distinct_colours, keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]

HOST = "div.civicpulse-widget"
PHONE = {"width": 390, "height": 844}


def test_phone_page_sends_a_web_press(
    browser_context: Any, live_api: LiveApi, tmp_path: Path
) -> None:
    page = browser_context.new_page()
    page.set_viewport_size(PHONE)
    third_party: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(live_api.url) else third_party.append(r.url)
    )
    page.goto(f"{live_api.url}/m/web-1?lang=en")
    page.wait_for_selector(f"{HOST}[data-state='ready']")
    assert page.locator("h1").inner_text() == "Rate your visit"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    png = page.screenshot(full_page=True)
    assert distinct_colours(png) > 20
    keep_screenshot(png, tmp_path, "phone.png")
    page.locator("button[data-button='4']").click()
    page.wait_for_selector(f"{HOST}[data-sent]")
    assert page.get_attribute(HOST, "data-sent") == "202"
    messages = read_topic(live_api.bootstrap, live_api.topic, 1, settle=1.0)
    mine = [m.value for m in messages if m.key == "web-1" and m.value["button"] == 4]
    assert mine and all(v["channel"] == "web" and len(v["visitor"]) == 32 for v in mine)
    assert third_party == []
    page.goto(f"{live_api.url}/m/web-1")
    page.wait_for_selector(f"{HOST}[data-state='ready']")
    assert page.locator("h1").inner_text() == "Oceń swoją wizytę"


def test_only_web_devices_have_a_phone_page(live_api: LiveApi) -> None:
    assert httpx.get(f"{live_api.url}/m/no-such-device").status_code == 404
    assert httpx.get(f"{live_api.url}/m/term-1").status_code == 404  # a terminal
