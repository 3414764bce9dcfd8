"""Edge limits as data: which path gets which limit, and defaults that fit what is valid."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

from civicpulse.api.edge import BodyLimits, ip_limited
from civicpulse.api.ingest.models import PressBatch
from civicpulse.api.ingest.state import IngestOptions
from civicpulse.api.serving import uvicorn_options
from civicpulse.schemas.settings import Settings


def test_each_path_gets_its_limit() -> None:
    limits = BodyLimits(batch=3, web=2, other=1, seconds=1.0)
    assert limits.for_path("/v1/presses") == 3
    assert limits.for_path("/v1/web/presses") == 2
    assert [limits.for_path(p) for p in ("/v1/scores", "/docs", "/v1/presses/x")] == [1, 1, 1]


def test_ip_limited_paths_are_the_anonymous_ones() -> None:
    assert ip_limited("/v1/web/presses") and ip_limited("/v1/web/devices/w/question")
    assert ip_limited("/v1/devices/kiosk-1/question")
    assert not ip_limited("/v1/presses") and not ip_limited("/v1/devices/kiosk-1")


def test_default_batch_limit_fits_a_full_batch_of_the_largest_valid_presses(
    tmp_path: Path,
) -> None:
    largest = {
        "event_id": str(uuid.uuid4()),
        "device_id": "d" * 128,
        "button": 4,
        "pressed_at": "2025-03-14T09:26:53.589123+01:00",
        "reason": "r" * 64,
        "lang": "pl-PL",
    }
    options = IngestOptions.from_settings(Settings(data_dir=tmp_path))
    body = {"events": [largest] * options.max_batch}
    PressBatch.model_validate(body)  # it is valid
    assert len(json.dumps(body, indent=1)) <= options.max_body_bytes
    assert options.max_body_bytes == Settings().api_batch_body_bytes


def test_future_limit_follows_the_largest_max_future_of_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[web]\nmax_future = "10m"\n[sites.s1.terminal]\nmax_future = "30m"\n')
    options = IngestOptions.from_settings(Settings(data_dir=tmp_path, rules_file=rules))
    assert options.future_limit == timedelta(minutes=30) + timedelta(hours=1)


def test_forwarded_headers_are_believed_only_from_configured_proxies() -> None:
    assert uvicorn_options(Settings())["proxy_headers"] is False
    assert uvicorn_options(Settings())["forwarded_allow_ips"] == []
    configured = uvicorn_options(Settings(trusted_proxies=" 10.0.0.1, 10.0.1.0/24 "))
    assert configured["proxy_headers"] is True
    assert configured["forwarded_allow_ips"] == ["10.0.0.1", "10.0.1.0/24"]
