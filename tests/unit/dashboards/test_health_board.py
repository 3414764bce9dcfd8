"""The pipeline health board: Grafana JSON on the Prometheus data source, every query names a
metric the code defines and parses as PromQL (promtool), the data source is provisioned, the docs
list every panel. A real Prometheus evaluates the queries over a real stack in
tests/integration/dashboards/test_health_prometheus.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.dashboards.build import build
from civicpulse.dashboards.health import HEALTH, RATE_INTERVAL, expand, health_json, metric_names
from civicpulse.schemas.settings import Settings

from ..infra.test_prometheus_rules import exposed_names

DOC = Path(__file__).resolve().parents[3] / "docs" / "dashboards.md"
PROMETHEUS_SOURCE = {"type": "prometheus", "uid": "civicpulse-prometheus"}


def test_every_panel_queries_prometheus_over_a_range() -> None:
    doc = health_json()
    assert (doc["uid"], doc["title"]) == (HEALTH.uid, HEALTH.title)
    assert doc["schemaVersion"] >= 39 and len(doc["panels"]) == len(HEALTH.panels)
    for panel, spec in zip(doc["panels"], HEALTH.panels, strict=True):
        assert panel["title"] == spec.title and panel["description"] == spec.question
        assert panel["datasource"] == PROMETHEUS_SOURCE
        assert [t["expr"] for t in panel["targets"]] == [q.expr for q in spec.queries]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"] == PROMETHEUS_SOURCE
            assert target["range"] is True and target["legendFormat"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_the_board_shows_what_the_issue_asks_for() -> None:
    # presses in/out per stage and verdict, lag per partition, watermark age, open windows,
    # state sizes, batch and insert latency, dead letters, restarts
    assert {
        "civicpulse_stream_records_in_total",
        "civicpulse_stream_records_out_total",
        "civicpulse_stream_consumer_lag_records",
        "civicpulse_stream_watermark_timestamp_seconds",
        "civicpulse_stream_open_windows",
        "civicpulse_stream_state_keys",
        "civicpulse_stream_batch_seconds_bucket",
        "civicpulse_sink_insert_seconds_bucket",
        "civicpulse_stream_dead_letters_total",
        "civicpulse_sink_dead_letters_total",
        "civicpulse_supervisor_restarts_total",
        "civicpulse_stream_worker_start_time_seconds",
    } <= metric_names()


def test_every_queried_metric_is_defined_by_the_code() -> None:
    assert metric_names() <= exposed_names(), sorted(metric_names() - exposed_names())


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool missing: scripts/bootstrap --dev installs Debian's prometheus",
)


@needs_promtool
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses a rule's expression with Prometheus' own parser: one recording rule per
    # query, with $__rate_interval as Grafana would expand it for a 15 s scrape interval
    queries = [q.expr for panel in HEALTH.panels for q in panel.queries]
    assert any(RATE_INTERVAL in q for q in queries)
    rules = [
        {"record": f"civicpulse:health_query_{i}", "expr": expand(q, "1m")}
        for i, q in enumerate(queries)
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "health", "rules": rules}]}))
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


@needs_promtool
def test_a_broken_query_fails_promtool(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    path = tmp_path / "broken.yml"
    broken = {"record": "civicpulse:broken", "expr": "sum by (table (civicpulse_stream_state_keys)"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "b", "rules": [broken]}]}))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode != 0


def _prometheus_source(out: Path) -> dict[str, object]:
    text = (out / "provisioning/datasources/civicpulse.yaml").read_text()
    sources = yaml.safe_load(text)["datasources"]
    (source,) = [s for s in sources if s["type"] == "prometheus"]
    assert isinstance(source, dict)
    return source


def test_build_writes_the_board_and_provisions_prometheus(tmp_path: Path) -> None:
    build(tmp_path, Settings(data_dir=tmp_path))
    doc = json.loads((tmp_path / "dashboards" / f"{HEALTH.uid}.json").read_text())
    assert doc == health_json()
    source = _prometheus_source(tmp_path)
    assert source["uid"] == "civicpulse-prometheus" and source["access"] == "proxy"
    assert source["url"] == "http://127.0.0.1:9090"
    assert source["jsonData"] == {"timeInterval": "15s", "httpMethod": "POST"}


def test_cli_build_takes_the_prometheus_server(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "dashboards",
            "build",
            str(tmp_path),
            "--prometheus-url",
            "http://prometheus:9090",
            "--scrape-interval",
            "30s",
        ],
    )
    assert result.exit_code == 0, result.output
    source = _prometheus_source(tmp_path)
    assert source["url"] == "http://prometheus:9090"
    assert source["jsonData"] == {"timeInterval": "30s", "httpMethod": "POST"}


def test_the_docs_list_every_panel_and_query() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"uid `{HEALTH.uid}`" in text
    for panel in HEALTH.panels:
        assert f"#### {panel.title}\n" in text
        for query in panel.queries:
            assert query.expr in text
