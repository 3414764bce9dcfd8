"""The API's /metrics over real HTTP (uvicorn, the real broker): requests by route template and
status, presses accepted and refused; parsed with prometheus_client's own text parser."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from civicpulse.api.app import create_app
from civicpulse.api.ingest.state import IngestOptions
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics

from .ingest_setup import KEYS, ORIGIN, ServerThread, make_catalogue, make_keys, make_settings
from .metrics_scrape import Samples, scrape, total

pytestmark = pytest.mark.integration


def press(device_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "device_id": device_id,
        "button": 3,
        "pressed_at": "2025-03-14T09:26:53.589Z",
        **fields,
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_api_metrics_count_requests_and_presses(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    app = create_app(
        make_settings(kafka_bootstrap, prefix, tmp_path),
        catalogue=make_catalogue(),
        device_keys=make_keys(tmp_path / "keys.json"),
        options=IngestOptions(max_batch=5, ip_burst=1000, max_body_bytes=20_000),
    )
    terminal = {"X-Device-Id": "term-1", "X-Device-Key": KEYS["term-1"]}
    with ServerThread(app, free_port()) as server, httpx.Client(base_url=server.url) as http:
        before = scrape(f"{server.url}/metrics")
        batch = {"events": [press("term-1") for _ in range(3)]}
        assert http.post("/v1/presses", json=batch, headers=terminal).status_code == 202
        one = {"events": [press("term-1")]}
        assert http.post("/v1/presses", json=one, headers=terminal).status_code == 202
        wrong = {**terminal, "X-Device-Key": "not-the-key"}
        assert http.post("/v1/presses", json=one, headers=wrong).status_code == 401
        web = press("web-1", browser_id="b" * 32)
        assert http.post("/v1/web/presses", json=web, headers={"Origin": ORIGIN}).status_code == 202
        retired = {"X-Device-Id": "old-1", "X-Device-Key": KEYS["old-1"]}
        assert (
            http.post("/v1/presses", json={"events": [press("old-1")]}, headers=retired).status_code
            == 410
        )
        assert http.get("/v1/no-such-thing").status_code == 404
        assert http.get("/v1/devices/term-1/question").status_code == 200
        # refused by the edge middleware before routing: still counted under its route
        huge = b'{"events": [' + b" " * 30_000 + b"]}"
        too_big = http.post("/v1/presses", content=huge, headers=terminal)
        assert too_big.status_code == 413
        after = scrape(f"{server.url}/metrics")

    accepted = "civicpulse_api_presses_accepted_total"
    assert delta(before, after, accepted, channel="terminal") == 4
    assert delta(before, after, accepted, channel="web") == 1
    refused = "civicpulse_api_press_requests_refused_total"
    assert delta(before, after, refused, channel="terminal", status="401") == 1
    assert delta(before, after, refused, channel="terminal", status="410") == 1
    assert delta(before, after, refused, channel="terminal", status="413") == 1
    assert delta(before, after, refused, channel="web") == 0
    requests = "civicpulse_api_requests_total"
    presses = {"route": "/v1/presses", "method": "POST"}
    assert delta(before, after, requests, **presses, status="202") == 2
    assert delta(before, after, requests, **presses) == 5
    assert delta(before, after, requests, route="unmatched", status="404") == 1
    # the first scrape is counted by the second, under its own route
    assert delta(before, after, requests, route="/metrics", method="GET", status="200") == 1
    seconds = "civicpulse_api_request_seconds_count"
    assert delta(before, after, seconds, route="/v1/web/presses") == 1
    # route templates only: no device id or other path value becomes a label
    question = "/v1/devices/{device_id}/question"
    assert delta(before, after, requests, route=question, status="200") == 1
    assert not any("term-1" in str(labels) for _, labels in after)
