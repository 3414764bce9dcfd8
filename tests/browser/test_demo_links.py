"""The real ``civicpulse demo`` (one short run) and the exact links it prints, in real Chromium.

One module-scoped run on the session's broker with its own data dir, topic prefix and port, at
80 columns and without a terminal (``COLUMNS=80``, pipes), as a newcomer's first run would be.
The tests read the links from what the demo printed, open each one while the city runs, and
then wait for the alert (asked from the query API with the printed token), stop the run as
Ctrl-C would and read its summary: every press sent accounted for, ``verify=ok``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from civicpulse.infra.kafka_process import free_port

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LINK = re.compile(r"^  ([a-zA-Z ]+):\s+(http://\S+)$")
PAGES = ("home", "live wall", "widget demo", "kiosk", "misuse review", "API docs")
SUMMARY = re.compile(r"^SUMMARY (.*)$", re.M)


@dataclass
class DemoRun:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def links(self, timeout: float = 120) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {m[1]: m[2] for line in self.lines if (m := LINK.match(line))}
            if set(PAGES) <= set(found):
                return found
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.5)
        raise AssertionError("the demo printed no links:\n" + "\n".join(self.lines))

    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def demo(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    root = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:12]}.",
        "CIVICPULSE_DATA_DIR": str(root / "data"),
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb:///{root / 'chdb'}",
        "CIVICPULSE_SQL_PORT": str(free_port()),
        "COLUMNS": "80",
    }
    env.pop("CIVICPULSE_API_TOKEN", None)
    # Open-ended, like a newcomer's run: the last test stops it (Ctrl-C) once the alert is out.
    command = [
        sys.executable, "-m", "civicpulse", "demo", "--grace", "10",
        "--api-port", str(free_port()),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    run = DemoRun(process)
    reader = threading.Thread(target=run.read, daemon=True)
    reader.start()
    try:
        yield run
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=120)
        reader.join(timeout=10)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_every_link_is_printed_whole_and_the_pages_open(
    demo: DemoRun, browser_context: Any, tmp_path: Path
) -> None:
    links = demo.links()
    assert "#token=" in links["live wall"] and "#key=" in links["kiosk"]
    assert "device=web-" in links["widget demo"]

    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(links["kiosk"])
    page.wait_for_selector("body[data-ready='true'][data-screen='faces']")
    assert page.locator(".face").count() == 4  # configured: the faces, not "Kiosk not set up"
    assert page.locator("#setup").is_hidden()
    _shot(page, tmp_path, "kiosk")

    page.goto(links["widget demo"])
    page.wait_for_selector("div.civicpulse-widget[data-state='ready']")
    assert page.locator("div.civicpulse-widget button[data-button]").count() == 4
    tag = page.locator("#tag")
    overflow = "e => e.parentElement.scrollWidth - e.parentElement.clientWidth"
    assert tag.evaluate(overflow) == 0  # the example tag wraps inside its box
    device = links["widget demo"].split("device=")[1].split("&")[0]
    assert f'data-device="{device}"' in tag.inner_text()

    page.goto(links["live wall"])
    page.wait_for_selector("body[data-loaded]")
    page.wait_for_function("document.querySelectorAll('#grid .item').length >= 4")
    assert page.locator("#token-form").is_hidden()  # the token in the link was accepted
    _shot(page, tmp_path, "live")

    page.goto(links["misuse review"])
    page.wait_for_selector("body[data-loaded]")  # the list answered: the token was accepted
    assert page.locator("#token-form").is_hidden()
    assert page.request.get(links["API docs"]).status == 200

    page.goto(links["home"])
    hrefs = {a.get_attribute("href") for a in page.locator("a").all()}
    base = links["home"].split("/?")[0]
    for name in ("live wall", "widget demo", "kiosk", "misuse review"):
        assert links[name].removeprefix(base) in hrefs, name


def _opened_alerts(links: dict[str, str]) -> list[dict[str, Any]]:
    """Alert events of the last hour, asked from the demo's query API with the link's token."""
    base = links["home"].split("/?")[0]
    token = unquote(links["live wall"].split("#token=")[1])
    now = datetime.now(UTC)
    span = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    answer = httpx.get(
        f"{base}/v1/alerts", params=span, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return [a for a in answer.json()["items"] if a["state"] == "opened"]


def test_the_alert_opens_within_two_minutes_and_the_summary_adds_up(demo: DemoRun) -> None:
    links = demo.links()
    started = datetime.now(UTC)
    deadline = time.monotonic() + 180
    while not (opened := _opened_alerts(links)):
        assert time.monotonic() < deadline, "no alert within 3 minutes:\n" + demo.output()
        assert demo.process.poll() is None, demo.output()
        time.sleep(2)
    first = min(datetime.fromisoformat(a["at"]) for a in opened)
    # the city starts at the minute's beginning; the alert's window ends a minute later
    assert first - started.replace(second=0, microsecond=0) <= timedelta(minutes=2), opened
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=180) == 0, demo.output()
    time.sleep(0.5)
    match = SUMMARY.search(demo.output())
    assert match is not None, demo.output()
    figures = dict(pair.split("=") for pair in match.group(1).split())
    assert int(figures["alerts"]) >= 1, demo.output()
    assert figures["verify"] == "ok", demo.output()
    parts = ("presses_stored", "redelivered", "deadlettered")
    assert sum(int(figures[p]) for p in parts) == int(figures["presses_sent"]), figures
