"""The query API on the real engine over a simulated day: every figure equals an independent
Python recomputation from the presses that were loaded; pages, ranges, cursors, export."""

from __future__ import annotations

import io
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civicpulse.api.query.params import utc_text
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings

from .api_setup import (
    ENV_TOKEN,
    RANGE,
    alerts_for,
    counted,
    heatmap_of,
    insert_alerts,
    iso,
    make_query_app,
    walk,
)
from .data import DAY_END, DAY_START, insert_presses, insert_scores, make_presses, stream_scores

pytestmark = pytest.mark.integration

START = DAY_START - timedelta(hours=3)
END = DAY_END + timedelta(hours=6)


@pytest.fixture
def day(clickhouse_client: Client) -> list[JudgedPress]:
    presses = make_presses(count=900, seed=11)
    insert_presses(clickhouse_client, presses)
    insert_presses(clickhouse_client, presses[:150])  # re-delivered: counted once
    insert_scores(clickhouse_client, stream_scores(presses, DAY_START, DAY_END))
    insert_alerts(clickhouse_client, alerts_for())
    return presses


@pytest.fixture
def api(
    clickhouse_settings: Settings, day: list[JudgedPress], tmp_path: Path
) -> Iterator[tuple[TestClient, str, FastAPI]]:
    app, token = make_query_app(clickhouse_settings, tmp_path)
    yield TestClient(app), token, app


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _score(c: Counter[int]) -> float:
    n = sum(c.values())
    return 100 * sum((b - 1) / 3 * k for b, k in c.items()) / n


def test_scores_equal_the_stream_windows(
    api: tuple[TestClient, str, FastAPI], day: list[JudgedPress]
) -> None:
    client, token, _ = api
    params = {**RANGE, "scope": "site", "window": "1h", "limit": 7}
    items = list(walk(client, "/v1/scores", params, token))
    # independent: count the counted presses of each site and local clock hour
    expected: dict[tuple[str, str, str], Counter[int]] = {}
    for press in counted(day, DAY_START, DAY_END):
        assert press.site_id is not None
        hour = press.pressed_at.replace(minute=0, second=0, microsecond=0)
        key: tuple[str, str, str] = (press.site_id, press.question_kind or "citizen", iso(hour))
        expected.setdefault(key, Counter())[press.button] += 1
    got = {
        (i["scope_id"], i["kind"], i["window_start"].replace("Z", "+00:00").replace(".000", "")): i
        for i in items
    }
    assert set(got) == set(expected)
    for key, counts in expected.items():
        item = got[key]
        assert [item[f"n{b}"] for b in (1, 2, 3, 4)] == [counts[b] for b in (1, 2, 3, 4)]
        assert item["score"] == pytest.approx(_score(counts))
    only = list(walk(client, "/v1/scores", {**params, "scope_id": "site-c"}, token))
    assert only and {i["scope_id"] for i in only} == {"site-c"}


def test_ranking_is_the_shrunk_score(
    api: tuple[TestClient, str, FastAPI], day: list[JudgedPress]
) -> None:
    client, token, _ = api
    per_site: dict[str, Counter[int]] = {}
    for press in counted(day, START, END):
        if (press.question_kind or "citizen") == "citizen" and press.site_id:
            per_site.setdefault(press.site_id, Counter()).update([press.button])
    everything: Counter[int] = Counter()
    for c in per_site.values():
        everything.update(c)
    city = _score(everything)
    shrunk = {
        s: (sum(c.values()) * _score(c) + 50 * city) / (sum(c.values()) + 50)
        for s, c in per_site.items()
    }
    items = list(walk(client, "/v1/ranking", {**RANGE, "level": "site", "limit": 1}, token))
    assert [i["id"] for i in items] == sorted(shrunk, key=lambda s: -shrunk[s])
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    for item in items:
        assert item["shrunk_score"] == pytest.approx(shrunk[item["id"]])
        assert item["n"] == sum(per_site[item["id"]].values())
    assert {i["id"]: i["name"] for i in items}["site-a"] == "Town hall"
    deps = client.get("/v1/ranking", params={**RANGE, "level": "department"}, headers=_auth(token))
    assert {i["id"] for i in deps.json()["items"]} == {"dep-a", "dep-b"}


@pytest.mark.parametrize("aligned", [True, False])
def test_heatmap_counts_local_weekday_and_hour(
    api: tuple[TestClient, str, FastAPI], day: list[JudgedPress], aligned: bool
) -> None:
    # whole hours read the rollup; a range cut mid-hour reads the raw presses
    client, token, _ = api
    start = START if aligned else START + timedelta(minutes=17)
    params = {"from": iso(start), "to": RANGE["to"], "scope": "department", "scope_id": "dep-a"}
    cells = list(walk(client, "/v1/heatmap", params, token))
    mine = [p for p in counted(day, start, END) if p.department_id == "dep-a"]
    expected = heatmap_of(mine)
    assert {(c["weekday"], c["hour"]): c["n"] for c in cells} == {
        k: sum(v.values()) for k, v in expected.items()
    }
    for cell in cells:
        assert cell["score"] == pytest.approx(_score(expected[(cell["weekday"], cell["hour"])]))


@pytest.mark.parametrize("aligned", [True, False])
def test_verdicts_per_device(
    api: tuple[TestClient, str, FastAPI], day: list[JudgedPress], aligned: bool
) -> None:
    client, token, _ = api
    start = START if aligned else START + timedelta(seconds=1)
    stored = {p.event_id: p for p in reversed(day)}.values()  # first delivery kept
    expected = Counter(
        (p.device_id, p.verdict)
        for p in stored
        if p.verdict != "duplicate" and start <= p.pressed_at < END
    )
    params = {"from": iso(start), "to": RANGE["to"], "limit": 3}
    items = list(walk(client, "/v1/verdicts", params, token))
    assert {(i["device_id"], i["verdict"]): i["n"] for i in items} == dict(expected)
    site_c = list(walk(client, "/v1/verdicts", {**params, "site_id": "site-c"}, token))
    assert {i["device_id"] for i in site_c} == {"t3", "t4"}


def test_alerts_all_and_open(api: tuple[TestClient, str, FastAPI]) -> None:
    client, token, _ = api
    events = alerts_for()
    items = list(walk(client, "/v1/alerts", {**RANGE, "limit": 2}, token))
    assert [(i["alert_id"], i["state"]) for i in items] == [
        (str(e.alert_id), e.state) for e in sorted(events, key=lambda e: (e.at, str(e.alert_id)))
    ]
    open_ = list(walk(client, "/v1/alerts", {**RANGE, "state": "open"}, token))
    resolved = {e.alert_id for e in events if e.state == "resolved"}
    assert {i["alert_id"] for i in open_} == {
        str(e.alert_id) for e in events if e.alert_id not in resolved
    }
    dep_b = list(walk(client, "/v1/alerts", {**RANGE, "department": "dep-b"}, token))
    assert dep_b and {i["department_id"] for i in dep_b} == {"dep-b"}


@pytest.mark.parametrize("include_misuse", [False, True])
def test_presses_pages_walk_the_whole_set(
    api: tuple[TestClient, str, FastAPI], day: list[JudgedPress], include_misuse: bool
) -> None:
    client, token, _ = api
    params = {**RANGE, "limit": 53, "include_misuse": str(include_misuse).lower()}
    items = list(walk(client, "/v1/presses", params, token))
    stored = {p.event_id: p for p in reversed(day)}  # the table keeps one row per event
    expected = {str(e) for e, p in stored.items() if include_misuse or p.verdict == "counted"}
    ids = [i["event_id"] for i in items]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    whole = client.get(
        "/v1/presses", params={**params, "limit": 10000}, headers=_auth(token)
    ).json()
    assert whole["next_cursor"] is None and whole["items"] == items


def test_export_parquet_equals_the_presses_endpoint(api: tuple[TestClient, str, FastAPI]) -> None:
    client, token, _ = api
    for misuse in ("false", "true"):
        params = {**RANGE, "include_misuse": misuse}
        response = client.get("/v1/export", params=params, headers=_auth(token))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vnd.apache.parquet"
        table = pq.read_table(io.BytesIO(response.content))
        rows = table.to_pylist()
        items = list(walk(client, "/v1/presses", {**params, "limit": 10000}, token))

        def norm(row: dict[str, Any]) -> dict[str, Any]:
            return {
                **row,
                "pressed_at": utc_text(row["pressed_at"]),
                "received_at": utc_text(row["received_at"]),
            }

        key = itemgetter("event_id")
        assert sorted(map(norm, rows), key=key) == sorted(items, key=key)
    csv = client.get("/v1/export", params={**RANGE, "format": "csv"}, headers=_auth(token))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.count("\n") == 1 + len(list(walk(client, "/v1/presses", RANGE, token)))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-28T00:00:00", "to": "2026-03-29T00:00:00Z"}, "query.from"),
        ({"from": "2026-03-28T00:00:00Z", "to": "2026-03-29T00:00:00"}, "query.to"),
        ({"from": "2026-03-28T00:00:00Z", "to": "2026-03-28T00:00:00Z"}, "query.to"),
        ({"from": "2026-03-28T00:00:00Z", "to": "2026-03-27T00:00:00Z"}, "query.to"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-02T00:00:01Z"}, "query.to"),
        ({**RANGE, "limit": "0"}, "query.limit"),
        ({**RANGE, "limit": "10001"}, "query.limit"),
        ({**RANGE, "cursor": "not-a-cursor!"}, "query.cursor"),
        ({**RANGE, "cursor": "WyJhbGVydHMiLCAxXQ"}, "query.cursor"),  # ["alerts", 1]
    ],
)
def test_bad_ranges_limits_and_cursors_are_422(
    api: tuple[TestClient, str, FastAPI], params: dict[str, str], field: str
) -> None:
    client, token, _ = api
    response = client.get("/v1/presses", params=params, headers=_auth(token))
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["detail"]}


def test_longest_range_is_366_days(api: tuple[TestClient, str, FastAPI]) -> None:
    client, token, _ = api
    start = datetime(2025, 6, 1, tzinfo=UTC)
    params = {"from": iso(start), "to": iso(start + timedelta(days=366))}
    assert client.get("/v1/presses", params=params, headers=_auth(token)).status_code == 200
    other_zone = {"from": "2026-03-28T00:00:00+01:00", "to": "2026-03-30T00:00:00+02:00"}
    assert client.get("/v1/presses", params=other_zone, headers=_auth(token)).status_code == 200


def _protected_requests(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the app documents but ingest, widget and health checks (static pages are
    not in the document), so an endpoint added later is checked without editing this test."""
    public_tags = {"ingest", "web", "ops"}
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if public_tags & set(operation.get("tags", [])):
                continue
            found.append((method.upper(), path.replace("{", "").replace("}", "")))
    return found


def test_every_query_endpoint_needs_a_token(api: tuple[TestClient, str, FastAPI]) -> None:
    client, token, app = api
    requests = _protected_requests(app)
    assert ("GET", "/v1/export") in requests and ("GET", "/v1/alerts/stream") in requests
    for method, path in requests:
        for headers in ({}, _auth("wrong-token"), {"Authorization": f"Basic {token}"}):
            response = client.request(method, path, params=RANGE, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
    assert (
        client.get(
            "/v1/ranking", params={**RANGE, "level": "site"}, headers=_auth(ENV_TOKEN)
        ).status_code
        == 200
    )


def test_token_store_changes_reach_a_running_api(
    api: tuple[TestClient, str, FastAPI], tmp_path: Path
) -> None:
    client, token, _ = api
    cli_side = ApiTokens.in_data_dir(tmp_path)  # what `civicpulse tokens add` does
    fresh = cli_side.add(f"analyst-{uuid.uuid4().hex[:6]}")
    params = {**RANGE, "level": "site"}

    def status(value: str) -> int:
        response = client.get("/v1/ranking", params=params, headers=_auth(value))
        return int(response.status_code)

    deadline = time.monotonic() + 5
    while status(fresh) != 200:
        assert time.monotonic() < deadline, "a new token was not accepted within 5 s"
        time.sleep(0.2)
    assert cli_side.revoke("tests")
    deadline = time.monotonic() + 5
    while status(token) != 401:
        assert time.monotonic() < deadline, "a revoked token was still accepted after 5 s"
        time.sleep(0.2)
    assert (tmp_path / "api-tokens.json").stat().st_mode & 0o777 == 0o600
    assert token not in (tmp_path / "api-tokens.json").read_text()
