"""The kiosk page in real headless Chromium: presses, reasons, idle reset, offline queue."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.ingest_setup import KEYS
from tests.integration.presses_consumer import read_topic

from .conftest import LiveApi

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def open_kiosk(context: Any, api: LiveApi, extra: str = "") -> Any:
    page = context.new_page()
    page.goto(f"{api.url}/kiosk?device=kiosk-1&lang=en{extra}#key={KEYS['kiosk-1']}")
    page.wait_for_selector("body[data-ready='true']")
    return page


def wait_drained(page: Any) -> None:
    page.wait_for_selector("body[data-queued='0']")


def kiosk_presses(api: LiveApi, expected: int) -> list[dict[str, Any]]:
    return [
        m.value
        for m in read_topic(api.bootstrap, api.topic, expected, settle=1.0)
        if m.key == "kiosk-1"
    ]


def test_each_smiley_reaches_the_topic(browser_context: Any, live_api: LiveApi) -> None:
    page = open_kiosk(browser_context, live_api)
    assert "key=" not in page.url  # the key left the address bar (and was never sent to a server)
    assert page.locator("#question").inner_text() == "How was our service today?"
    for button in (1, 2, 3, 4):
        page.locator(f".face[data-button='{button}']").click()
        if button <= 2:
            page.wait_for_selector("body[data-screen='reasons']")
            page.locator(".reason[data-reason='information']").click()
        page.wait_for_selector("body[data-screen='thanks']")
        page.wait_for_selector("body[data-screen='faces']", timeout=10_000)
    wait_drained(page)
    presses = kiosk_presses(live_api, 4)
    assert sorted(p["button"] for p in presses) == [1, 2, 3, 4]
    assert all(p["channel"] == "terminal" and "visitor" not in p for p in presses)
    assert sorted(p.get("reason", "") for p in presses) == ["", "", "information", "information"]


def test_idle_reason_screen_resets_and_still_counts(
    browser_context: Any, live_api: LiveApi
) -> None:
    page = open_kiosk(browser_context, live_api, "&idle=1")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # keyboard works on the kiosk too: button 1
    page.wait_for_selector("body[data-screen='reasons']")
    page.wait_for_selector("body[data-screen='thanks']", timeout=5_000)
    page.wait_for_selector("body[data-screen='faces']", timeout=10_000)
    wait_drained(page)
    presses = kiosk_presses(live_api, 5)
    assert [p["button"] for p in presses].count(1) == 2  # one from the test above, one here


def test_offline_presses_queue_in_indexeddb_and_flush_on_reconnect(
    browser_context: Any, live_api: LiveApi
) -> None:
    page = open_kiosk(browser_context, live_api)
    before = len(kiosk_presses(live_api, 5))
    browser_context.set_offline(True)
    for button in (4, 3, 4):
        page.locator(f".face[data-button='{button}']").click()
        page.wait_for_selector("body[data-screen='thanks']")
        page.wait_for_selector("body[data-screen='faces']", timeout=10_000)
    page.wait_for_selector("body[data-queued='3']")
    stored = page.evaluate(
        """() => new Promise((ok) => { const r = indexedDB.open('civicpulse-kiosk');
        r.onsuccess = () => {
          const g = r.result.transaction('presses').objectStore('presses').getAll();
          g.onsuccess = () => ok(g.result.map((x) => x.event.button)); }; })"""
    )
    assert stored == [4, 3, 4]
    assert len(kiosk_presses(live_api, before)) == before  # nothing left the tablet

    browser_context.set_offline(False)
    wait_drained(page)
    presses = kiosk_presses(live_api, before + 3)
    assert len(presses) == before + 3
    assert len({p["event_id"] for p in presses}) == len(presses)  # each once
