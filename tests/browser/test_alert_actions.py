"""Acknowledge, comment and close from the live pages in real Chromium, stored for real: the
buttons call the API, the action goes through the broker and the sink into chDB, and a fresh
page shows the stored lifecycle; Polish on the department page; a silent device's alert reads
as one; screenshot for docs/alerts.md."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.api.query.tokens import CONFIGURED_TOKEN_NAME
from civicpulse.schemas.events import AlertEvent
from civicpulse.sink.batch import BatchPolicy
from civicpulse.sink.rows import ALERT_COLUMNS, alert_row
from civicpulse.sink.writer import Sink

from .pixels import keep_screenshot
from .test_live import TOKEN, Wall, open_wall, wall  # noqa: F401 (the fixture)
from .wall_setup import AT

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SILENT_ID = uuid.UUID(int=77)


def _store_actions(stack: Wall) -> None:
    """What `civicpulse up` does continuously: the sink stores the actions topic."""
    group = f"sink-{uuid.uuid4().hex}"
    Sink(stack.settings, group_id=group, policy=BatchPolicy(100, 0.2)).run(stop_when_idle=1.5)


def _insert_silent_desk(client: Client) -> None:
    silent = AlertEvent(
        alert_id=SILENT_ID,
        state="opened",
        kind="silent_device",
        scope="device",
        scope_id="desk-9",
        department_id="dep-a",
        site_id="site-a1",
        mode="threshold",
        score=0.0,
        n=0,
        threshold=30.0,
        expected_presses=6.0,
        window_start=AT - timedelta(minutes=50),
        window_end=AT - timedelta(minutes=10),
        at=AT - timedelta(minutes=10),
    )
    client.insert("alerts", [alert_row(silent)], column_names=list(ALERT_COLUMNS))


def test_ack_comment_and_close_from_the_pages_are_stored_and_shown(
    wall: Wall,  # noqa: F811 (first: the browser closes its live streams before the server stops)
    browser_context: Any,
    clickhouse_client: Client,
    tmp_path: Path,
) -> None:
    _insert_silent_desk(clickhouse_client)
    page = open_wall(browser_context, wall, "/live", "en", at=False)
    item = page.locator(f"#alert-list li[data-alert-id='{wall.open_alert}']")
    item.wait_for()
    silent = page.locator(f"#alert-list li[data-alert-id='{SILENT_ID}']")
    assert "device silent since" in silent.inner_text()

    item.locator("button.ack").click()
    item.locator(".acked").wait_for()
    assert item.locator(".acked").inner_text().endswith(f"acknowledged by {CONFIGURED_TOKEN_NAME}")
    assert item.locator("button.ack").count() == 0
    item.locator(".comment-form input").fill("Extra desk opened at 12:40")
    item.locator("button.comment").click()
    item.locator(".alert-comment").wait_for()
    keep_screenshot(page.screenshot(full_page=True), tmp_path, "alert-actions.png")

    # Stored, not only drawn: a fresh page (Polish, the department's own) reads it back.
    _store_actions(wall)
    pl = open_wall(browser_context, wall, "/live/departments/dep-a", "pl", at=False)
    stored = pl.locator(f"#alert-list li[data-alert-id='{wall.open_alert}']")
    stored.locator(".alert-comment").wait_for()
    assert f"przyjęte przez {CONFIGURED_TOKEN_NAME}" in stored.inner_text()
    assert stored.locator(".alert-comment").inner_text() == (
        f"{CONFIGURED_TOKEN_NAME}: Extra desk opened at 12:40"
    )
    assert [stored.locator(f"button.{b}").inner_text() for b in ("comment", "close")] == [
        "Skomentuj",
        "Zamknij",
    ]

    stored.locator("button.close").click()
    stored.wait_for(state="detached")
    _store_actions(wall)
    again = open_wall(browser_context, wall, "/live", "en", at=False)
    again.locator(f"#alert-list li[data-alert-id='{SILENT_ID}']").wait_for()
    assert again.locator(f"#alert-list li[data-alert-id='{wall.open_alert}']").count() == 0

    # The query API agrees: closed by the page's token, with the comment and the ack.
    answer = httpx.get(
        f"{wall.url}/v1/alerts",
        params={"from": (AT - timedelta(days=1)).isoformat(), "to": AT.isoformat()},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    mine = [i for i in answer.json()["items"] if i["alert_id"] == str(wall.open_alert)]
    assert [(i["acked_by"], i["closed"], i["closed_by"]) for i in mine] == [
        (CONFIGURED_TOKEN_NAME, True, CONFIGURED_TOKEN_NAME)
    ]
