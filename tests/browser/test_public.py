"""The public results pages in real headless Chromium over a simulated day in the real engine:
axe-core (tests/contracts/node_modules) finds no accessibility violation in either language, at a
desktop and a phone size; the department page shows its month; screenshot for docs/pages.md."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.api.app import create_app
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.settings import Settings
from tests.integration.ingest_setup import ServerThread, make_settings

from .conftest import CHROMIUM, CHROMIUM_ARGS
from .pixels import distinct_colours, keep_screenshot
from .wall_setup import AT, NAMES, load_day, wall_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.integration]

AXE = Path(__file__).parents[1] / "contracts" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def public_url(
    kafka_bootstrap: str,
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    tmp_path: Path,
) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    settings = make_settings(kafka_bootstrap, prefix, tmp_path / "data").model_copy(
        update={
            "clickhouse_dsn": clickhouse_settings.clickhouse_dsn,
            "clickhouse_database": clickhouse_settings.clickhouse_database,
            "public_results": True,
        }
    )
    load_day(clickhouse_client)
    app = create_app(settings, catalogue=wall_catalogue(), api_tokens=ApiTokens(None, ()))
    with ServerThread(app, free_port()) as server:
        yield server.url


@pytest.fixture
def axe_context(tmp_path: Path) -> Iterator[Any]:
    """Chromium that lets axe-core in past the pages' strict CSP (the pages carry no script)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} missing: install Debian's chromium (apt-get install -y chromium)")
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: run scripts/bootstrap --dev (npm ci in tests/contracts)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            bypass_csp=True,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
        ".then(r => r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.html)})))"
    )
    return found


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_public_pages_have_no_accessibility_violations(
    axe_context: Any, public_url: str, lang: str, tmp_path: Path
) -> None:
    page = axe_context.new_page()
    for size in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        page.set_viewport_size(size)
        for path in ("/public", "/public/dep-a", "/public/dep-b"):
            response = page.goto(f"{public_url}{path}?lang={lang}")
            assert response is not None and response.status == 200
            assert violations(page) == [], path
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.set_viewport_size({"width": 1000, "height": 700})
    page.goto(f"{public_url}/public/dep-a?lang={lang}")
    month = {"pl": "marzec", "en": "March"}[lang] + f" {AT:%Y}"  # AT is in March
    row = page.locator(f"tbody tr:has(th:text-is('{month}'))")
    assert row.count() == 1 and int(row.locator("td").nth(1).inner_text()) > 0
    assert NAMES["dep-a"] in page.locator("caption").inner_text()
    if lang == "pl":
        png = page.screenshot(full_page=True)
        assert distinct_colours(png) > 20
        keep_screenshot(png, tmp_path, "public.png")
