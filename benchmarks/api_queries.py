"""The query API's endpoints over the benchmark year, timed through the HTTP stack in-process.

Used by :mod:`benchmarks.queries` after it generated the year: each endpoint is called through
Starlette's TestClient (routing, auth, validation, SQL, JSON) ``runs`` times; its p95 is set
against the same run's raw scan of ``presses FINAL`` over the year.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, percentile
from civicpulse.schemas.settings import Settings

__all__ = ["api_figures", "load_scores_and_alerts"]

# Daily site scores derived from the hourly rollup (the stream would emit them), and alerts.
_SCORES = """
INSERT INTO scores (scope, scope_id, kind, `window`, window_start, window_end,
                    n, n1, n2, n3, n4, score, positive_share)
SELECT 'site', site_id, kind, '1d', day_start, day_start + toIntervalDay(1),
       n1 + n2 + n3 + n4 AS n, n1, n2, n3, n4,
       civicpulse_score(n1, n2, n3, n4), (n3 + n4) / n
FROM (
    SELECT site_id, kind, toDateTime64(toStartOfDay(hour, {tz:String}), 3, 'UTC') AS day_start,
           sum(n1) AS n1, sum(n2) AS n2, sum(n3) AS n3, sum(n4) AS n4
    FROM presses_hourly GROUP BY site_id, kind, day_start
)
"""
_ALERTS = """
INSERT INTO alerts (alert_id, state, scope, scope_id, department_id, mode, score, n, threshold,
                    window_start, window_end, at)
SELECT generateUUIDv4(number), if(number % 2 = 0, 'opened', 'resolved'), 'site',
       concat('site-', toString(number % 300)), concat('dep-', toString(number % 40)),
       'threshold', 30, 8, 50, at - toIntervalMinute(15), at, at
FROM (SELECT number, {start:DateTime64(3, 'UTC')} + toIntervalMinute(number * 97) AS at
      FROM numbers({count:UInt32}))
"""


def load_scores_and_alerts(client: Any, tz: str, start: datetime, alerts: int) -> None:
    client.command(_SCORES, parameters={"tz": tz})
    client.command(_ALERTS, parameters={"start": start, "count": alerts})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def api_figures(
    settings: Settings, start: datetime, end: datetime, raw_scan_ms: float, runs: int
) -> list[Figure]:
    from fastapi.testclient import TestClient

    from civicpulse.api.app import create_app
    from civicpulse.api.query.tokens import ApiTokens
    from civicpulse.schemas.catalogue import Catalogue

    with tempfile.TemporaryDirectory(prefix="civicpulse-bench-api-") as folder:
        data_dir = Path(folder)
        token = ApiTokens.in_data_dir(data_dir).add("bench")
        app = create_app(settings.model_copy(update={"data_dir": data_dir}), catalogue=Catalogue())
        client = TestClient(app)
        headers = {"Authorization": f"Bearer {token}"}
        year = {"from": _iso(start), "to": _iso(end)}
        month = {"from": _iso(start + timedelta(days=150)), "to": _iso(start + timedelta(days=181))}
        first = client.get("/v1/presses", params={**month, "limit": 1000}, headers=headers)
        cursor = first.json()["next_cursor"]
        calls: list[tuple[str, str, dict[str, Any]]] = [
            (
                "scores",
                "/v1/scores",
                {**year, "scope": "site", "window": "1d", "scope_id": "site-7"},
            ),
            ("ranking", "/v1/ranking", {**year, "level": "site"}),
            ("heatmap", "/v1/heatmap", {**year, "scope": "department", "scope_id": "dep-7"}),
            ("verdicts", "/v1/verdicts", {**year, "site_id": "site-7"}),
            ("alerts", "/v1/alerts", {**year, "state": "open"}),
            ("presses", "/v1/presses", {**month, "limit": 1000}),
            ("presses_next", "/v1/presses", {**month, "limit": 1000, "cursor": cursor}),
        ]
        figures = []
        for name, path, params in calls:
            samples = []
            for _ in range(runs):
                began = time.perf_counter()
                response = client.get(path, params=params, headers=headers)
                samples.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
            items = len(response.json()["items"])
            p95 = percentile(samples, 95)
            print(
                f"api {name}: {items} items; p50 {percentile(samples, 50):.1f} ms "
                f"p95 {p95:.1f} ms; raw scan {raw_scan_ms:.0f} ms",
                flush=True,
            )
            figures.append(
                Figure(f"queries.api.{name}.p95", p95, "ms", "p95<100ms", p95 < 100, raw_scan_ms)
            )
        return figures
