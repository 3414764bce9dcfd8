"""The misuse review page in real headless Chromium over suspect periods the real scan found in
the real engine: a reviewer confirms a period through the page and the API then lists it as
confirmed; dismissing, the token prompt, the open/all filter and the links from / and /live, in
Polish and English; a screenshot for the docs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.analytics.review.periods import Suspect, scan
from civicpulse.analytics.review.store import load_presses, store_suspects
from civicpulse.api.app import create_app
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings
from civicpulse.stream.catalogue.index import epoch_us
from tests.integration.analytics.data import (
    CITY,
    DAY_END,
    DAY_START,
    TZ,
    insert_presses,
    insert_scores,
    make_presses,
    stream_scores,
)
from tests.integration.ingest_setup import ServerThread, make_settings

from .pixels import distinct_colours, keep_screenshot
from .wall_setup import NAMES, wall_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TOKEN = "review-test-token-" + "x" * 24
STAFF_START = DAY_START + timedelta(hours=9)  # 10:00 in Warsaw (the day after the DST change)


@dataclass(frozen=True)
class Review:
    url: str
    staff_run: Suspect  # the period over the staff presses at t1
    suspects: list[Suspect]  # everything the scan stored as open


def _staff(presses: list[JudgedPress]) -> list[JudgedPress]:
    """Staff at t1: button 4 every 20 s for 15 minutes, all counted."""
    return [
        p.model_copy(
            update={
                "event_id": uuid.UUID(int=i + 1),
                "device_id": "t1", "site_id": "site-a", "department_id": "dep-a",
                "question_id": "q1", "question_kind": "citizen", "verdict": "counted",
                "button": 4, "pressed_at": STAFF_START + timedelta(seconds=20 * i),
            }
        )
        for i, p in enumerate(presses[:45])
    ]  # fmt: skip


@pytest.fixture
def review(
    kafka_bootstrap: str,
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    tmp_path: Path,
) -> Iterator[Review]:
    presses = make_presses(count=900, seed=5)
    presses += _staff(presses)
    insert_presses(clickhouse_client, presses)
    insert_scores(clickhouse_client, stream_scores(presses, DAY_START, DAY_END))
    suspects = scan(load_presses(clickhouse_client, DAY_START, DAY_END), timezone=TZ)
    assert store_suspects(clickhouse_client, suspects, DAY_END) == len(suspects)
    start_ms = epoch_us(STAFF_START) // 1000
    (staff_run,) = [
        s
        for s in suspects
        if s.device_id == "t1"
        and s.pattern == "one_button_run"
        and s.from_ms <= start_ms <= s.to_ms
    ]
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    settings = make_settings(kafka_bootstrap, prefix, tmp_path / "data").model_copy(
        update={
            "clickhouse_dsn": clickhouse_settings.clickhouse_dsn,
            "clickhouse_database": clickhouse_settings.clickhouse_database,
            "city_timezone": TZ,
            "city_id": CITY,
        }
    )
    app = create_app(settings, catalogue=wall_catalogue(), api_tokens=ApiTokens(None, (TOKEN,)))
    with ServerThread(app, free_port()) as server:
        yield Review(server.url, staff_run, suspects)


def _api_states(page: Any, review: Review) -> dict[str, tuple[str, str]]:
    """id -> (state, note) of every stored period, as GET /v1/review/suspects?state=all says."""
    answer = page.request.get(
        f"{review.url}/v1/review/suspects?state=all",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status == 200, answer.text()
    return {s["id"]: (s["state"], s["note"]) for s in answer.json()["items"]}


def _open_page(context: Any, review: Review, query: str, token: bool = True) -> Any:
    page = context.new_page()
    third_party: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(review.url) else third_party.append(r.url)
    )
    page.goto(f"{review.url}/live/review?{query}" + (f"#token={TOKEN}" if token else ""))
    page.third_party = third_party
    return page


def _clock(ms: int) -> str:
    """HH:MM:SS of an epoch-ms moment in the city's zone (what the page must show)."""
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(TZ)).strftime("%H:%M:%S")


def test_confirm_through_the_page(browser_context: Any, review: Review, tmp_path: Path) -> None:
    run = review.staff_run
    page = _open_page(browser_context, review, "lang=en")
    page.wait_for_selector("body[data-loaded]")
    assert "token=" not in page.url  # the token left the address bar
    ids = [r.get_attribute("data-id") for r in page.locator("#rows tr").all()]
    assert sorted(ids) == sorted(s.id for s in review.suspects)  # every open period, once
    row = page.locator(f"#rows tr[data-id='{run.id}']")
    assert row.get_attribute("data-state") == "open"
    assert row.locator(".device").inner_text() == "t1"
    assert row.locator(".site").inner_text() == NAMES["site-a"]  # the catalogue's name
    assert row.locator(".pattern").inner_text() == "one-button run"
    assert int(row.locator(".presses").inner_text()) == run.presses
    assert row.locator(".evidence").inner_text() == run.evidence
    period = row.locator(".period").inner_text()
    assert _clock(run.from_ms).startswith("10:")  # Warsaw summer time, not the browser's UTC
    assert f"{_clock(run.from_ms)} – {_clock(run.to_ms)}" in period
    assert "29" in period and "2026" in period
    assert "(Europe/Warsaw)" in page.locator("thead").inner_text()

    row.locator("input.note").fill("desk 3, seen on camera")
    row.locator("button[data-verb='confirm']").click()
    page.wait_for_selector(f"#rows tr[data-id='{run.id}'][data-state='confirmed']")
    row = page.locator(f"#rows tr[data-id='{run.id}']")
    assert row.locator(".state").inner_text() == "confirmed: presses count as misuse"
    assert row.locator(".note-shown").inner_text() == "desk 3, seen on camera"
    assert row.locator("button[data-verb='confirm']").count() == 0  # only a change is offered
    assert row.locator("button[data-verb='dismiss']").count() == 1
    states = _api_states(page, review)
    assert states[run.id] == ("confirmed", "desk 3, seen on camera")
    assert all(states[s.id] == ("open", "") for s in review.suspects if s.id != run.id)
    assert page.third_party == []

    page.set_viewport_size({"width": 1600, "height": 900})
    png = page.screenshot(full_page=True)
    assert distinct_colours(png) > 100
    keep_screenshot(png, tmp_path, "review.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll

    page.reload()  # the open filter leaves the decided period out from now on
    page.wait_for_selector("body[data-loaded]")
    assert page.locator(f"#rows tr[data-id='{run.id}']").count() == 0
    assert page.locator("#rows tr").count() == len(review.suspects) - 1


def test_dismiss_filter_prompt_and_links_in_polish(browser_context: Any, review: Review) -> None:
    page = _open_page(browser_context, review, "lang=pl", token=False)
    page.wait_for_selector("#token-form:not([hidden])")
    page.fill("#token-input", "wrong-token")
    page.click("#token-form button")
    page.wait_for_selector("#token-error:has-text('Token odrzucony')")
    page.fill("#token-input", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("body[data-loaded]")

    run = review.staff_run
    row = page.locator(f"#rows tr[data-id='{run.id}']")
    assert row.locator(".pattern").inner_text() == "seria jednego przycisku"
    row.locator("button[data-verb='dismiss']").click()
    page.wait_for_selector(f"#rows tr[data-id='{run.id}'][data-state='dismissed']")
    assert row.locator(".state").inner_text() == "odrzucony: oceny liczone normalnie"
    assert _api_states(page, review)[run.id] == ("dismissed", "")

    page.select_option("#filter", "all")
    page.wait_for_selector(f"body[data-loaded='{len(review.suspects)}']")
    assert "state=all" in page.url
    assert page.locator(f"#rows tr[data-id='{run.id}']").get_attribute("data-state") == "dismissed"
    page.select_option("#filter", "open")
    page.wait_for_selector(f"body[data-loaded='{len(review.suspects) - 1}']")
    assert page.locator(f"#rows tr[data-id='{run.id}']").count() == 0
    assert page.third_party == []

    for path, selector in (("/?lang=pl", "#link-review"), ("/live?lang=pl", "#review-link")):
        page.goto(review.url + path)
        link = page.locator(selector)
        assert link.inner_text() == "Przegląd nadużyć"
        assert link.get_attribute("href") == "/live/review?lang=pl"
    page.locator("#review-link").click()
    page.wait_for_selector("body[data-loaded]")  # the token from this tab's session is kept
    assert page.locator("h1").inner_text().endswith("Przegląd nadużyć")
