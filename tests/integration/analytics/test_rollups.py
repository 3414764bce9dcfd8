"""Rollups (migrations 0004/0005) equal the raw scan of presses, re-deliveries included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.analytics import queries
from civicpulse.sink.rows import PRESS_COLUMNS, press_row

from .data import DAY_END, DAY_START, TZ, insert_presses, make_presses

pytestmark = pytest.mark.integration

START = DAY_START - timedelta(days=1)
END = DAY_END + timedelta(days=1)
FIGURES = {
    "site_daily": queries.SITE_DAILY,
    "site_totals": queries.SITE_TOTALS,
    "department_monthly": queries.DEPARTMENT_MONTHLY,
    "heatmap": queries.HEATMAP,
}


def _run(client: Client, sql: str, **filters: str) -> list[tuple[Any, ...]]:
    params = {
        "start": START,
        "end": END,
        "tz": TZ,
        "kind": "citizen",
        "department": "",
        "site": "",
        **filters,
    }
    return [tuple(row) for row in client.query(sql, parameters=params).result_rows]


def _load_with_redeliveries(client: Client) -> None:
    presses = make_presses(count=900, seed=21)
    first, second = presses[:500], presses[500:]
    insert_presses(client, first)
    # a crash between insert and commit: the batch comes again with other boundaries
    insert_presses(client, first[450:] + second[:100])
    # a duplicate inside one batch
    insert_presses(client, second[100:300] + second[120:130])
    # a retried batch with its deduplication token: dropped by `presses` itself
    rows = [press_row(p) for p in second[300:]]
    for _ in range(2):
        client.insert(
            "presses",
            rows,
            column_names=list(PRESS_COLUMNS),
            settings={"insert_deduplication_token": "t-300"},
        )
    # a device re-sent a counted press: judged `duplicate`, same event_id
    resent = [p.model_copy(update={"verdict": "duplicate"}) for p in first[:40]]
    insert_presses(client, resent)


def test_rollups_equal_raw_scans(clickhouse_client: Client) -> None:
    _load_with_redeliveries(clickhouse_client)
    raw_rows = clickhouse_client.query("SELECT count() FROM presses").result_rows[0][0]
    distinct = clickhouse_client.query("SELECT uniqExact(event_id) FROM presses").result_rows
    assert raw_rows > distinct[0][0]  # the re-deliveries really are stored twice before merges
    for name, figure in FIGURES.items():
        for kind in ("citizen", "employee"):
            raw = _run(clickhouse_client, figure["raw"], kind=kind)
            assert raw, (name, kind)
            assert _run(clickhouse_client, figure["rollup"], kind=kind) == raw, (name, kind)
        filtered = {"department": "dep-b", "site": "site-c"}
        assert _run(clickhouse_client, figure["rollup"], **filtered) == _run(
            clickhouse_client, figure["raw"], **filtered
        ), name
    verdicts_raw = _run(clickhouse_client, queries.VERDICTS_PER_DEVICE["raw"])
    assert {v for _, v, _ in verdicts_raw} >= {"counted", "burst", "unknown_device"}
    assert _run(clickhouse_client, queries.VERDICTS_PER_DEVICE["rollup"]) == verdicts_raw


def test_rollups_stay_equal_after_merges(clickhouse_client: Client) -> None:
    _load_with_redeliveries(clickhouse_client)
    for table in ("presses", "presses_hourly", "press_verdicts_hourly"):
        clickhouse_client.command(f"OPTIMIZE TABLE {table} FINAL")
    for figure in FIGURES.values():
        assert _run(clickhouse_client, figure["rollup"]) == _run(clickhouse_client, figure["raw"])


def test_heatmap_uses_local_time_across_dst(clickhouse_client: Client) -> None:
    presses = make_presses(count=200, seed=2)
    insert_presses(clickhouse_client, presses)
    rows = _run(clickhouse_client, queries.HEATMAP["rollup"])
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(TZ)
    seen = {p.event_id: p for p in presses if p.verdict == "counted" and p.site_id}
    expected: dict[tuple[int, int], int] = {}
    for p in seen.values():
        if (p.question_kind or "citizen") != "citizen":
            continue
        local = p.pressed_at.astimezone(zone)
        key = (local.isoweekday(), local.hour)
        expected[key] = expected.get(key, 0) + 1
    assert {(w, h): sum(c) for w, h, *c in rows} == expected


def test_rollups_serve_whole_hour_zones_only() -> None:
    assert queries.rollups_serve("Europe/Warsaw", START, END)
    assert not queries.rollups_serve("Asia/Kolkata", START, END)
    assert queries.figure_sql(queries.HEATMAP, "Asia/Kolkata", START, END) == queries.HEATMAP["raw"]
