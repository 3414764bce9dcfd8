"""`civicpulse report`: renders in a real headless Chromium, and its numbers equal SQL."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from civicpulse.schemas.settings import Settings
from civicpulse.sink.report import SHRINKAGE_K
from civicpulse.sink.rows import ALERT_COLUMNS

from .data import DAY_START, TZ, insert_presses, make_presses

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"


def _render(settings: Settings, client: Client, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    from civicpulse.cli import app

    presses = make_presses(
        count=800, seed=4, start=DAY_START - timedelta(days=40), span=timedelta(days=80)
    )
    insert_presses(client, presses)
    insert_presses(client, presses[:50])  # re-delivered
    client.insert(
        "alerts",
        [
            [
                uuid.uuid4(),
                "opened",
                "department",
                "dep-a",
                "dep-a",
                "threshold",
                31.5,
                6,
                50.0,
                DAY_START,
                DAY_START + timedelta(minutes=15),
                DAY_START + timedelta(minutes=15),
                "low_score",
                None,
                None,
            ]
        ],
        column_names=list(ALERT_COLUMNS),
    )
    out = tmp_path / "report.html"
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
    }
    result = CliRunner().invoke(app, ["report", "--year", "2026", "--no-pdf", str(out)], env=env)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S
    )
    assert match
    return out, json.loads(match.group(1))


def test_report_numbers_equal_sql(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path
) -> None:
    _, data = _render(clickhouse_settings, clickhouse_client, tmp_path)
    year = (
        "pressed_at >= toDateTime64('2025-12-31 23:00:00', 3, 'UTC') "
        "AND pressed_at < toDateTime64('2026-12-31 23:00:00', 3, 'UTC')"
    )
    counted = (
        f"FROM presses FINAL WHERE verdict = 'counted' AND site_id IS NOT NULL AND {year} "
        "AND ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen') = 'citizen'"
    )
    deps = clickhouse_client.query(
        f"SELECT department_id, count(), avg((button - 1) / 3) * 100 {counted} GROUP BY 1"
    ).result_rows
    got = {d["department_id"]: (d["n"], d["score"]) for d in data["departments"]}
    assert set(got) == {d for d, _, _ in deps}
    for dep, n, score in deps:
        assert got[dep][0] == n and got[dep][1] == pytest.approx(score, abs=1e-9)
    city_n, city_mean = clickhouse_client.query(
        f"SELECT count(), avg((button - 1) / 3) * 100 {counted}"
    ).result_rows[0]
    assert data["city"]["n"] == city_n
    sites = clickhouse_client.query(
        f"SELECT site_id, count(), avg((button - 1) / 3) * 100 {counted} GROUP BY 1"
    ).result_rows
    fair = {s["site_id"]: s["fair_score"] for s in data["sites"]}
    for site, n, mean in sites:
        assert fair[site] == pytest.approx((n * mean + SHRINKAGE_K * city_mean) / (n + SHRINKAGE_K))
    assert [s["fair_score"] for s in data["sites"]] == sorted(fair.values(), reverse=True)
    shares = clickhouse_client.query(
        # one row per press, with its first verdict; a retry's `duplicate` is no press (0006)
        "SELECT device_id, count(), countIf(verdict != 'counted') "
        f"FROM presses FINAL WHERE {year} AND verdict != 'duplicate' GROUP BY 1"
    ).result_rows
    got_shares = {d["device_id"]: (d["total"], d["filtered"]) for d in data["devices"]}
    assert got_shares == {d: (t, f) for d, t, f in shares}
    assert len(data["monthly"]) >= 4 and {m["month"][:7] for m in data["monthly"]} >= {"2026-03"}
    assert sum(c["n"] for c in data["heatmap"]) == city_n
    assert [a["scope_id"] for a in data["alerts"]] == ["dep-a"]


def test_report_renders_in_chromium(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path
) -> None:
    from PIL import Image

    out, _ = _render(clickhouse_settings, clickhouse_client, tmp_path)
    html_text = out.read_text()
    assert html_text.count('src="data:image/png;base64,') == 2
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1100,1600",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    # a blank page has one colour; text, tables and two colour charts give thousands
    assert len(colours) > 500
    # the heat map's red-yellow-green really is drawn (not a broken image icon)
    assert any(r > 150 and g < 120 and b < 120 for _, (r, g, b) in colours)  # type: ignore[misc]
