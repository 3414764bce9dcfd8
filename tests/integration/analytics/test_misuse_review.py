"""Misuse review on the real engine: the live scan equals the offline one, suspects are stored
once, and a confirmed period changes every surface (scores, export, report, API, the Grafana
panels that read presses or their rollups, the live wall's press counts) while
``verify`` still holds; dismissing it brings every figure back."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from civicpulse.analytics.export import stream_presses
from civicpulse.analytics.live_queries import LIVE_PRESSES
from civicpulse.analytics.report.gather import collect
from civicpulse.analytics.review.offline import scannable
from civicpulse.analytics.review.periods import ScanPress, Suspect, scan
from civicpulse.analytics.review.store import list_reviews, load_presses, store_suspects
from civicpulse.analytics.verify import verify_scores
from civicpulse.dashboards import sql as dash
from civicpulse.dashboards.macros import QueryContext, expand
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings
from civicpulse.stream.catalogue.index import epoch_us

from .api_setup import RANGE, counted, make_query_app, walk
from .data import (
    CITY,
    DAY_END,
    DAY_START,
    TZ,
    insert_presses,
    insert_scores,
    make_presses,
    stream_scores,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def day(clickhouse_client: Client) -> list[JudgedPress]:
    presses = make_presses(count=900, seed=5)
    insert_presses(clickhouse_client, presses)
    insert_scores(clickhouse_client, stream_scores(presses, DAY_START, DAY_END))
    return presses


def _period(day: list[JudgedPress]) -> tuple[Suspect, list[JudgedPress]]:
    """A period over 30 counted presses of t1 in the closed day, and the presses inside it."""
    t1 = sorted(
        (p for p in counted(day, DAY_START, DAY_END) if p.device_id == "t1"),
        key=lambda p: p.pressed_at,
    )
    first, last = t1[10], t1[39]
    inside = [p for p in t1 if first.pressed_at <= p.pressed_at <= last.pressed_at]
    suspect = Suspect(
        device_id="t1",
        pattern="one_button_run",
        from_ms=epoch_us(first.pressed_at) // 1000,
        to_ms=epoch_us(last.pressed_at) // 1000,
        presses=len(inside),
        evidence="test period",
        site_id="site-a",
        figures={"button": "4"},
    )
    return suspect, inside


_PANEL_CTX = QueryContext(DAY_START, DAY_END, timedelta(minutes=5))
_PANEL_VARIABLES = {"department": ["dep-a"], "site": ["site-a"], "question": ["q1"], "tz": TZ}


def _panel(client: Client, sql: str) -> list[tuple[Any, ...]]:
    """A Grafana panel's rows over the day, expanded as the plugin does (dep-a, site-a, q1)."""
    expanded = expand(sql, _PANEL_CTX, _PANEL_VARIABLES)
    return [tuple(r) for r in client.query(expanded).result_rows]


def _panels(client: Client) -> dict[str, Any]:
    """The panels that read presses or their rollups: t1's / site-a's / dep-a's figures."""
    per_hour = _panel(client, dash.DEPARTMENT_SCORE_PER_HOUR)
    desks = {r[0]: r[1] for r in _panel(client, dash.SITE_DESKS)}
    by_device = {r[0]: r[2] for r in _panel(client, dash.FILTERED_SHARE_BY_DEVICE)}
    over_time = _panel(client, dash.FILTERED_BY_VERDICT_OVER_TIME)
    per_minute = _panel(client, dash.PRESSES_PER_MINUTE)
    (total,) = client.query(
        "SELECT count() FROM presses FINAL WHERE pressed_at >= {a:DateTime} "
        "AND pressed_at <= {b:DateTime}",
        parameters={"a": DAY_START, "b": DAY_END},
    ).result_rows[0]
    ((share,),) = _panel(client, dash.FILTERED_SHARE)
    return {
        "panel_hourly": sum(r[2] for r in per_hour),
        "panel_buttons": sum(_panel(client, dash.DEPARTMENT_BUTTONS)[0]),
        "panel_sites": sum(r[1] for r in _panel(client, dash.DEPARTMENT_SITES)),
        "panel_questions": sum(r[1] for r in _panel(client, dash.DEPARTMENT_QUESTIONS)),
        "panel_desk_t1": desks["t1"],
        "panel_per_minute": round(sum(r[2] for r in per_minute) * 300 / 60),
        "panel_filtered": round(share * total),
        "panel_filtered_t1": by_device["t1"],
        "panel_misuse_over_time": sum(r[2] for r in over_time if r[1] == "misuse"),
    }


def _live_site_a(client: Client, at: datetime) -> int:
    """Presses of site-a in the live wall's last 15 minutes before ``at``."""
    params = {"scope": "site", "department": "dep-a", "at": at}
    params |= {"minute_ago": at - timedelta(minutes=1), "quarter_ago": at - timedelta(minutes=15)}
    rows = client.query(LIVE_PRESSES, parameters=params).result_rows
    return next((int(r[2]) for r in rows if r[0] == "site-a"), 0)


def _figures(client: Client, api: TestClient, token: str) -> dict[str, Any]:
    """Every surface's figure for device t1 / site-a / the city."""
    scores = client.query(
        "SELECT n FROM scores FINAL WHERE scope = 'device' AND scope_id = 't1' "
        "AND `window` = '1d' AND window_start = {start:DateTime64(3, 'UTC')}",
        parameters={"start": DAY_START},
    ).result_rows
    text = b"".join(stream_presses(client, start=DAY_START, end=DAY_END, fmt="csv")).decode()
    exported = [r for r in csv.DictReader(io.StringIO(text)) if r["device_id"] == "t1"]
    report = collect(client, 2026, TZ)
    device = next(d for d in report.current["filtered"]["devices"] if d["id"] == "t1")
    headers = {"Authorization": f"Bearer {token}"}
    api_presses = list(walk(api, "/v1/presses", {**RANGE, "limit": 500}, token))
    everything = list(
        walk(api, "/v1/presses", {**RANGE, "limit": 500, "include_misuse": "true"}, token)
    )
    ranking = api.get("/v1/ranking", params={**RANGE, "level": "site"}, headers=headers)
    verdicts = {
        v["verdict"]: v["n"] for v in walk(api, "/v1/verdicts", {**RANGE, "device_id": "t1"}, token)
    }
    return {
        **_panels(client),
        "verdicts_counted": verdicts.get("counted", 0),
        "verdicts_misuse": verdicts.get("misuse", 0),
        "score_n": scores[0][0],
        "export": len(exported),
        "report_city": report.current["city"]["n"],
        "report_misuse": device["verdicts"].get("misuse", 0),
        "api_presses": len([p for p in api_presses if p["device_id"] == "t1"]),
        "api_all": len(everything),
        "ranking_site_a": next(i["n"] for i in ranking.json()["items"] if i["id"] == "site-a"),
    }


@pytest.fixture
def api(clickhouse_settings: Settings, day: list[JudgedPress], tmp_path: Path) -> Iterator[
    tuple[TestClient, str]
]:  # fmt: skip
    app, token = make_query_app(clickhouse_settings.model_copy(update={"city_id": CITY}), tmp_path)
    yield TestClient(app), token


def _verify(client: Client) -> list[Any]:
    return verify_scores(client, since=DAY_START, until=DAY_END, tz=TZ, city_id=CITY).mismatches


def _order(press: ScanPress) -> tuple[str, int, str]:
    return (press.device_id, press.at_ms, press.event_id)


def test_live_scan_equals_offline_scan(clickhouse_client: Client, day: list[JudgedPress]) -> None:
    offline_input = [s for p in counted(day, DAY_START, DAY_END) if (s := scannable(p)) is not None]
    live_input = load_presses(clickhouse_client, DAY_START, DAY_END)
    assert sorted(live_input, key=_order) == sorted(offline_input, key=_order)
    assert any(p.device_id == "t1" for p in live_input)
    assert not any(p.device_id == "t3" for p in live_input)  # employee question: never scanned
    assert [s.record() for s in scan(live_input)] == [s.record() for s in scan(offline_input)]


def test_suspects_are_stored_once(clickhouse_client: Client, day: list[JudgedPress]) -> None:
    suspect, _ = _period(day)
    assert store_suspects(clickhouse_client, [suspect], DAY_END) == 1
    assert store_suspects(clickhouse_client, [suspect, suspect], DAY_END) == 0
    (stored,) = list_reviews(clickhouse_client, state="open")
    assert stored.id == suspect.id and stored.state == "open" and stored.presses == 30
    assert stored.record()["from"] == suspect.record()["from"]


def test_confirmed_period_changes_every_surface_and_verify_holds(
    clickhouse_client: Client,
    clickhouse_settings: Settings,
    day: list[JudgedPress],
    api: tuple[TestClient, str],
) -> None:
    client, (http, token) = clickhouse_client, api
    headers = {"Authorization": f"Bearer {token}"}
    suspect, inside = _period(day)
    store_suspects(client, [suspect], DAY_END)
    assert _verify(client) == []
    before = _figures(client, http, token)
    assert before["verdicts_misuse"] == 0 and before["panel_misuse_over_time"] == 0
    # the live wall's last quarter hour, ending just after the period's last press
    live_at = inside[-1].pressed_at + timedelta(seconds=1)
    live_inside = sum(p.pressed_at >= live_at - timedelta(minutes=15) for p in inside)
    live_before = _live_site_a(client, live_at)
    assert live_inside > 0
    listed = http.get("/v1/review/suspects", headers=headers).json()["items"]
    assert [s["id"] for s in listed] == [suspect.id]
    assert http.get("/v1/review/suspects").status_code == 401
    unknown = "/v1/review/suspects/00000000-0000-0000-0000-000000000000/confirm"
    assert http.post(unknown, headers=headers).status_code == 404

    done = http.post(
        f"/v1/review/suspects/{suspect.id}/confirm", json={"note": "desk 3"}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "confirmed" and done.json()["note"] == "desk 3"
    k = len(inside)
    after = _figures(client, http, token)
    panels = {key: before[key] - k for key in before if key.startswith("panel_")}
    for key in ("panel_filtered", "panel_filtered_t1", "panel_misuse_over_time"):
        panels[key] = before[key] + k  # the confirmed presses move to misuse
    assert after == {
        **panels,
        "verdicts_counted": before["verdicts_counted"] - k,
        "verdicts_misuse": k,
        "score_n": before["score_n"] - k,
        "export": before["export"] - k,
        "report_city": before["report_city"] - k,  # t1 asks a citizen question
        "report_misuse": k,
        "api_presses": before["api_presses"] - k,
        "api_all": before["api_all"],  # include_misuse=true keeps them
        "ranking_site_a": before["ranking_site_a"] - k,
    }
    assert _verify(client) == []
    assert _live_site_a(client, live_at) == live_before - live_inside
    assert http.get("/v1/review/suspects", headers=headers).json()["items"] == []

    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": clickhouse_settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": clickhouse_settings.clickhouse_database,
        "CIVICPULSE_CITY_ID": CITY,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
        "COLUMNS": "200",
    }
    from civicpulse.cli import app

    result = CliRunner().invoke(app, ["review", "dismiss", suspect.id, "--note", "queue"], env=env)
    assert result.exit_code == 0, result.output
    assert _figures(client, http, token) == {**before, "report_misuse": 0}
    assert _live_site_a(client, live_at) == live_before
    assert _verify(client) == []
    listed = CliRunner().invoke(app, ["review", "list", "--state", "all", "--json"], env=env)
    assert '"state":"dismissed"' in listed.output and '"note":"queue"' in listed.output


def test_live_scan_command_prints_and_stores_what_the_scan_finds(
    clickhouse_client: Client, clickhouse_settings: Settings
) -> None:
    from civicpulse.cli import app

    presses = make_presses(count=900, seed=5)
    # staff at t1: button 4 every 20 s for 15 minutes, all counted
    start = DAY_START + timedelta(hours=9)
    staff = [
        p.model_copy(
            update={
                "event_id": uuid.UUID(int=i + 1),
                "device_id": "t1", "site_id": "site-a", "department_id": "dep-a",
                "question_id": "q1", "question_kind": "citizen", "verdict": "counted",
                "button": 4, "pressed_at": start + timedelta(seconds=20 * i),
            }
        )
        for i, p in enumerate(presses[:45])
    ]  # fmt: skip
    insert_presses(clickhouse_client, [*presses, *staff])
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": clickhouse_settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": clickhouse_settings.clickhouse_database,
        "CIVICPULSE_CITY_ID": CITY,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
    }
    args = ["review", "scan", "--live", "--since", DAY_START.isoformat()]
    args += ["--until", DAY_END.isoformat()]
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    lines = [orjson.loads(line) for line in first.stdout.splitlines() if line.startswith("{")]
    expected = scan(load_presses(clickhouse_client, DAY_START, DAY_END), timezone=TZ)
    assert [line["id"] for line in lines] == [s.id for s in expected]
    assert any(
        s.device_id == "t1"
        and s.pattern == "one_button_run"
        and s.from_ms <= epoch_us(start) // 1000
        for s in expected
    )
    again = CliRunner().invoke(app, args, env=env)
    assert again.exit_code == 0, again.output
    stored = list_reviews(clickhouse_client, state="open")
    assert sorted(r.id for r in stored) == sorted(s.id for s in expected)
