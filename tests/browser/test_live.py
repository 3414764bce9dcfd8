"""The landing page and the live wall in real headless Chromium over a simulated day in the real
engine: the numbers on the page equal an independent recomputation from the loaded presses, in
Polish and English; an alert produced on the real alert topic shows within 2 s; screenshots."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.api.app import create_app
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings
from tests.integration.ingest_setup import ServerThread, make_settings

from .pixels import distinct_colours, keep_screenshot
from .wall_setup import AT, NAMES, expected, load_day, wall_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TOKEN = "wall-test-token-" + "x" * 24
AT_TEXT = AT.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Wall:
    url: str
    settings: Settings
    presses: list[JudgedPress]
    open_alert: uuid.UUID


@pytest.fixture
def wall(
    kafka_bootstrap: str,
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    tmp_path: Path,
) -> Iterator[Wall]:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    settings = make_settings(kafka_bootstrap, prefix, tmp_path / "data").model_copy(
        update={
            "clickhouse_dsn": clickhouse_settings.clickhouse_dsn,
            "clickhouse_database": clickhouse_settings.clickhouse_database,
        }
    )
    presses, open_alert = load_day(clickhouse_client)
    app = create_app(settings, catalogue=wall_catalogue(), api_tokens=ApiTokens(None, (TOKEN,)))
    with ServerThread(app, free_port()) as server:
        yield Wall(server.url, settings, presses, open_alert)


def open_wall(context: Any, wall: Wall, path: str, lang: str, at: bool = True) -> Any:
    page = context.new_page()
    third_party: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(wall.url) else third_party.append(r.url))
    query = f"?lang={lang}" + (f"&at={AT_TEXT}" if at else "")
    page.goto(f"{wall.url}{path}{query}#token={TOKEN}")
    page.wait_for_selector("body[data-loaded]")
    page.third_party = third_party
    return page


def number(text: str) -> float:
    return float(text.replace(",", ".").replace("\u00a0", ""))


def check_figure(card: Any, want: Any) -> None:
    if want.score is None:
        assert card.locator(".score").inner_text() in {"no presses", "brak ocen"}
    else:
        assert number(card.locator(".score").inner_text()) == round(want.score, 1)
    assert int(card.locator(".fig-n b").inner_text()) == want.n
    assert int(card.locator(".fig-p15 b").inner_text()) == want.n  # the same 15 minutes
    assert int(card.locator(".fig-pm b").inner_text()) == want.presses_1m
    assert int(card.locator("svg.spark").get_attribute("data-points")) == want.spark_points


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_wall_shows_the_figures_of_the_loaded_day(
    browser_context: Any, wall: Wall, lang: str, tmp_path: Path
) -> None:
    page = open_wall(browser_context, wall, "/live", lang)
    assert "token=" not in page.url  # the token left the address bar
    title = {"pl": "Otwarte alarmy", "en": "Open alerts"}[lang]
    assert page.locator("#alerts-title").inner_text() == title
    sample = page.locator("#total .score").inner_text()
    assert ("," in sample) == (lang == "pl")  # decimal comma in Polish
    check_figure(page.locator("#total"), expected(wall.presses, None, "department"))
    cards = page.locator("#grid .item")
    assert [c.locator(".name").inner_text() for c in cards.all()] == [
        NAMES["dep-a"],
        NAMES["dep-b"],
    ]
    for dep in ("dep-a", "dep-b"):
        want = expected(wall.presses, dep, "department")
        assert want.n > 10  # the day really has presses in this window
        check_figure(page.locator(f"#grid .item[data-id='{dep}']"), want)
    # open at AT: dep-a's alert only (dep-b's resolved before AT, the other opened after AT)
    alerts = page.locator("#alert-list li")
    assert [a.get_attribute("data-alert-id") for a in alerts.all()] == [str(wall.open_alert)]
    assert alerts.first.locator(".alert-name").inner_text() == NAMES["dep-a"]
    assert page.locator("#grid .item[data-id='dep-a'] .badge").inner_text() == "! 1"
    assert page.locator("#grid .item[data-id='dep-b'] .badge").count() == 0
    assert page.third_party == []
    if lang == "en":
        page.set_viewport_size({"width": 1920, "height": 1080})
        png = page.screenshot(full_page=True)
        assert distinct_colours(png) > 100
        keep_screenshot(png, tmp_path, "live.png")
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        png = page.screenshot(full_page=True)
        assert distinct_colours(png) > 100
        keep_screenshot(png, tmp_path, "live-phone.png")


def test_cards_show_the_service_standard(browser_context: Any, wall: Wall) -> None:
    page = open_wall(browser_context, wall, "/live", "en")
    local_day = AT.astimezone(ZoneInfo("Europe/Warsaw")).date()
    month = {"from": f"{local_day:%Y-%m}-01", "to": str(local_day + timedelta(days=1))}
    answer = page.request.get(
        f"{wall.url}/v1/standards",
        params={**month, "granularity": "month", "department": "dep-a"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    (want,) = answer["items"]
    days = f"{want['days_met']}/{want['days_missed']}/{want['days_too_few']}"
    status = {"met": "met", "missed": "missed", "too_few": "too few responses"}[want["status"]]
    card = page.locator("#grid .item[data-id='dep-a']")
    assert (
        card.locator(".standard").inner_text() == f"standard 70.0 (min 5): {status} · days {days}"
    )
    assert card.locator("svg.spark line.target").get_attribute("y1") == "30"
    assert page.locator("#grid .item[data-id='dep-b'] .standard").count() == 0


def test_department_page_shows_its_sites(browser_context: Any, wall: Wall) -> None:
    page = open_wall(browser_context, wall, "/live/departments/dep-a", "pl")
    assert page.locator("#crumb").inner_text().endswith(NAMES["dep-a"])
    check_figure(page.locator("#total"), expected(wall.presses, "dep-a", "department"))
    names = [c.locator(".name").inner_text() for c in page.locator("#grid .item").all()]
    assert names == [NAMES["site-a"], NAMES["site-b"]]
    for site in ("site-a", "site-b"):
        check_figure(
            page.locator(f"#grid .item[data-id='{site}']"), expected(wall.presses, site, "site")
        )


def test_wall_without_token_asks_for_one(browser_context: Any, wall: Wall) -> None:
    page = browser_context.new_page()
    page.goto(f"{wall.url}/live?lang=en&at={AT_TEXT}")
    page.wait_for_selector("#token-form:not([hidden])")
    page.fill("#token-input", "wrong-token")
    page.click("#token-form button")
    page.wait_for_selector("#token-error:has-text('Token refused')")
    page.fill("#token-input", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("body[data-loaded]")
    assert page.locator("#grid .item").count() == 2


def test_landing_links_everything(browser_context: Any, wall: Wall, tmp_path: Path) -> None:
    page = browser_context.new_page()
    for lang, live in (("pl", "Ekran na żywo"), ("en", "Live wall")):
        page.goto(f"{wall.url}/?lang={lang}")
        assert page.locator("#link-live").inner_text() == live
        hrefs = [a.get_attribute("href") for a in page.locator("a").all()]
        assert f"/live?lang={lang}" in hrefs and "/docs" in hrefs and "/kiosk" in hrefs
        assert f"/live/departments/dep-a?lang={lang}" in hrefs
        assert any(h.startswith("/demo/widget") for h in hrefs if h)
        for href in hrefs:
            assert href is not None
            if href.startswith("/"):
                assert page.request.get(wall.url + href).status == 200, href
    png = page.screenshot(full_page=True)
    assert distinct_colours(png) > 20
    keep_screenshot(png, tmp_path, "landing.png")


def test_alert_on_the_topic_shows_within_2_seconds(browser_context: Any, wall: Wall) -> None:
    from confluent_kafka import Producer

    page = open_wall(browser_context, wall, "/live", "en", at=False)
    page.wait_for_selector("#stream[data-state='on']")
    now = datetime.now(UTC)
    alert_id = uuid.uuid4()
    event = {
        "alert_id": str(alert_id),
        "state": "opened",
        "scope": "department",
        "scope_id": "dep-b",
        "department_id": "dep-b",
        "mode": "threshold",
        "score": 22.2,
        "n": 9,
        "threshold": 50.0,
        "window_start": (now - timedelta(minutes=15)).isoformat(),
        "window_end": now.isoformat(),
        "at": now.isoformat(),
    }
    producer = Producer({"bootstrap.servers": wall.settings.bootstrap_servers})
    producer.produce(
        f"{wall.settings.topic_prefix}alerts.all", json.dumps(event).encode(), b"dep-b"
    )
    producer.flush(10)
    sent = time.monotonic()
    item = page.locator(f"#alert-list li[data-alert-id='{alert_id}']")
    item.wait_for(timeout=2_000)
    shown = time.monotonic() - sent
    assert shown < 2.0
    assert item.locator(".alert-name").inner_text() == NAMES["dep-b"]
    assert "22.2" in item.inner_text()
