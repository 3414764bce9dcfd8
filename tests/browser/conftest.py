"""Real headless Chromium (Debian's ``chromium``, never a downloaded browser) and a real API."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from civicpulse.api.app import create_app
from civicpulse.api.ingest.state import IngestOptions
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from tests.integration.ingest_setup import ServerThread, make_catalogue, make_keys, make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class LiveApi:
    url: str
    bootstrap: str
    topic: str


@pytest.fixture(scope="module")
def live_api(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    data_dir = tmp_path_factory.mktemp("browser-api")
    settings = make_settings(kafka_bootstrap, prefix, data_dir)
    app = create_app(
        settings,
        catalogue=make_catalogue(),
        device_keys=make_keys(data_dir / "keys.json"),
        options=IngestOptions(visitor_burst=20),
    )
    with ServerThread(app, free_port()) as server:
        yield LiveApi(server.url, kafka_bootstrap, f"{prefix}presses.raw")


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[Any]:
    """A fresh Chromium profile per test (its own user-data-dir: empty storage, no cache)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
