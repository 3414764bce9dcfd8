"""The web widget in real headless Chromium: every smiley reaches presses.raw on the real broker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.presses_consumer import read_topic

from .conftest import LiveApi

pytestmark = [pytest.mark.browser, pytest.mark.integration]

HOST = "div.civicpulse-widget"


def open_widget(context: Any, api: LiveApi, lang: str) -> Any:
    page = context.new_page()
    third_party: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(api.url) else third_party.append(r.url))
    page.goto(f"{api.url}/demo/widget?device=web-1&lang={lang}")
    page.wait_for_selector(f"{HOST}[data-state='ready']")
    page.third_party = third_party
    return page


def sent(page: Any) -> str:
    page.wait_for_selector(f"{HOST}[data-sent]")
    value: str = page.get_attribute(HOST, "data-sent")
    return value


def test_each_smiley_reaches_the_topic(browser_context: Any, live_api: LiveApi) -> None:
    page = open_widget(browser_context, live_api, "pl")
    assert page.locator(".q").inner_text() == "Jak oceniasz obsługę w urzędzie?"
    labels = [
        page.locator(f"button[data-button='{b}']").get_attribute("aria-label") for b in range(1, 5)
    ]
    assert labels == ["Bardzo źle", "Źle", "Dobrze", "Bardzo dobrze"]

    for button, reason in [(1, "wait_time"), (2, None), (3, None), (4, None)]:
        if button > 1:
            page.reload()
            page.wait_for_selector(f"{HOST}[data-state='ready']")
        page.locator(f"button[data-button='{button}']").click()
        if button <= 2:
            page.wait_for_selector(f"{HOST}[data-state='reasons']")
            page.locator(f"button[data-reason='{reason or ''}']").click()
        assert page.locator(".status").inner_text() == "Dziękujemy!"
        assert sent(page) == "202"

    messages = read_topic(live_api.bootstrap, live_api.topic, 4, settle=1.0)
    web = [m for m in messages if m.key == "web-1"]
    assert sorted(m.value["button"] for m in web) == [1, 2, 3, 4]
    by_button = {m.value["button"]: m.value for m in web}
    assert by_button[1]["reason"] == "wait_time" and "reason" not in by_button[2]
    visitors = {v["visitor"] for v in by_button.values()}
    assert len(visitors) == 1 and len(visitors.pop()) == 32  # one browser, one visitor today
    assert all(v["channel"] == "web" and v["lang"] == "pl" for v in by_button.values())
    assert all(v["pressed_at"].endswith("Z") for v in by_button.values())
    assert page.third_party == []


def test_keyboard_only_in_english(browser_context: Any, live_api: LiveApi) -> None:
    page = open_widget(browser_context, live_api, "en")
    active = "document.querySelector('div.civicpulse-widget').shadowRoot.activeElement"
    focused_label = f"{active}?.getAttribute('aria-label')"
    focused_reason = f"{active}?.dataset.reason"
    page.keyboard.press("Tab")
    assert page.evaluate(focused_label) == "Very unhappy"
    page.keyboard.press("Tab")
    assert page.evaluate(focused_label) == "Unhappy"
    outline = page.evaluate(f"getComputedStyle({active}).outlineStyle")
    assert outline == "solid"  # focus is visible
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{HOST}[data-state='reasons']")
    assert page.evaluate(focused_reason) == "wait_time"  # focus moved to the follow-up
    page.keyboard.press("Tab")
    assert page.evaluate(focused_reason) == "staff"
    page.keyboard.press("Enter")
    assert sent(page) == "202"
    assert page.locator("[role='status']").inner_text() == "Thank you!"

    messages = read_topic(live_api.bootstrap, live_api.topic, 5, timeout=20, settle=1.0)
    staff = [m.value for m in messages if m.value.get("reason") == "staff"]
    assert len(staff) == 1 and staff[0]["button"] == 2 and staff[0]["lang"] == "en"
