"""`civicpulse dashboards push` against a real Grafana, where GRAFANA_URL answers (the
docker-compose stack brings one; none can be installed on the build machines)."""

from __future__ import annotations

import os

import httpx
import pytest

from civicpulse.dashboards.push import push
from civicpulse.dashboards.render import dashboard_json
from civicpulse.dashboards.specs import boards

pytestmark = pytest.mark.integration


def _grafana() -> tuple[str, str]:
    url = os.environ.get("GRAFANA_URL", "")
    token = os.environ.get("GRAFANA_TOKEN", "")
    if not url:
        pytest.skip("GRAFANA_URL is not set: no Grafana to push to on this machine")
    try:
        httpx.get(f"{url.rstrip('/')}/api/health", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        pytest.skip(f"GRAFANA_URL={url} does not answer /api/health: {exc}")
    if not token:
        pytest.skip("GRAFANA_TOKEN is not set: a service-account token is needed to push")
    return url, token


def test_push_twice_updates_and_never_duplicates() -> None:
    url, token = _grafana()
    dashboards = [dashboard_json(b) for b in boards("Europe/Warsaw")]
    first = push(url, token, dashboards)
    second = push(url, token, dashboards)
    assert [a["uid"] for a in first] == [a["uid"] for a in second] == [d["uid"] for d in dashboards]
    assert all(b["version"] > a["version"] for a, b in zip(first, second, strict=True))
    found = httpx.get(
        f"{url.rstrip('/')}/api/search",
        params={"tag": "civicpulse", "type": "dash-db"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    uids = [hit["uid"] for hit in found]
    assert sorted(uids) == sorted({d["uid"] for d in dashboards})
