"""`civicpulse dashboards build`: Grafana JSON with the expected uids, provisioning YAML that
parses, the data source of the plugin with uid civicpulse-clickhouse (the Prometheus board and
data source: test_health_board.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.dashboards.build import build
from civicpulse.dashboards.health import HEALTH
from civicpulse.dashboards.provisioning import PASSWORD_ENV
from civicpulse.dashboards.specs import boards
from civicpulse.schemas.settings import Settings

UIDS = {
    "civicpulse-city-overview",
    "civicpulse-department",
    "civicpulse-site",
    "civicpulse-heatmap",
    "civicpulse-ranking",
    "civicpulse-alerts",
    "civicpulse-misuse",
    "civicpulse-employee-mood",
}


def _clickhouse(text: str) -> dict[str, Any]:
    """The ClickHouse data source of a provisioning file (the other one is Prometheus)."""
    sources = yaml.safe_load(text)["datasources"]
    assert [s["type"] for s in sources] == ["grafana-clickhouse-datasource", "prometheus"]
    found: dict[str, Any] = sources[0]
    return found


def _built(tmp_path: Path, dsn: str | None = None) -> Path:
    build(tmp_path, Settings(clickhouse_dsn=dsn, data_dir=tmp_path / "data"))
    return tmp_path


def test_dashboards_are_grafana_json_with_the_expected_uids(tmp_path: Path) -> None:
    out = _built(tmp_path)
    files = sorted((out / "dashboards").glob("*.json"))
    documents = [json.loads(f.read_text()) for f in files]
    assert {d["uid"] for d in documents} == UIDS | {HEALTH.uid}
    for path, doc in zip(files, documents, strict=True):
        if doc["uid"] == HEALTH.uid:
            continue  # PromQL on Prometheus: test_health_board.py
        assert path.stem == doc["uid"] and doc["title"] and doc["schemaVersion"] >= 39
        assert doc["panels"], doc["uid"]
        for panel in doc["panels"]:
            assert panel["datasource"] == {
                "type": "grafana-clickhouse-datasource",
                "uid": "civicpulse-clickhouse",
            }
            (target,) = panel["targets"]
            assert target["editorType"] == "sql" and target["rawSql"].lstrip().startswith(
                ("SELECT", "WITH")
            )
            assert target["datasource"]["uid"] == "civicpulse-clickhouse"
            assert (target["format"], target["queryType"]) in ((0, "timeseries"), (1, "table"))
        for variable in doc.get("templating", {}).get("list", []):
            if variable["type"] == "query":
                assert variable["query"]["rawSql"] and variable["datasource"]["uid"] == (
                    "civicpulse-clickhouse"
                )


def test_city_timezone_reaches_the_dashboards(tmp_path: Path) -> None:
    build(tmp_path, Settings(city_timezone="Europe/Lisbon", data_dir=tmp_path))
    doc = json.loads((tmp_path / "dashboards" / "civicpulse-heatmap.json").read_text())
    (tz,) = [v for v in doc["templating"]["list"] if v["name"] == "tz"]
    assert (tz["type"], tz["query"], tz["hide"]) == ("constant", "Europe/Lisbon", 2)


def test_embedded_default_points_at_the_sql_endpoint_with_a_token(tmp_path: Path) -> None:
    text = (_built(tmp_path) / "provisioning/datasources/civicpulse.yaml").read_text()
    assert "SQL endpoint" in text and "civicpulse tokens add" in text
    source = _clickhouse(text)
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["uid"] == "civicpulse-clickhouse"
    data = source["jsonData"]
    assert (data["host"], data["port"], data["protocol"]) == ("127.0.0.1", 8123, "http")
    assert data["defaultDatabase"] == "civicpulse"
    assert source["secureJsonData"]["password"] == "${" + PASSWORD_ENV + "}"


def test_embedded_datasource_follows_the_sql_port(tmp_path: Path) -> None:
    build(tmp_path, Settings(data_dir=tmp_path, sql_port=18123, sql_host="0.0.0.0"))
    text = (tmp_path / "provisioning/datasources/civicpulse.yaml").read_text()
    source = _clickhouse(text)
    assert (source["jsonData"]["host"], source["jsonData"]["port"]) == ("127.0.0.1", 18123)


@pytest.mark.parametrize(
    ("dsn", "host", "port", "secure", "user"),
    [
        ("http://reader:s3cret@ch.example:8123", "ch.example", 8123, False, "reader"),
        ("https://ch.example", "ch.example", 8443, True, "default"),
    ],
)
def test_http_dsn_points_the_datasource_at_that_server(
    tmp_path: Path, dsn: str, host: str, port: int, secure: bool, user: str
) -> None:
    text = (_built(tmp_path, dsn) / "provisioning/datasources/civicpulse.yaml").read_text()
    assert "s3cret" not in text
    source = _clickhouse(text)
    data = source["jsonData"]
    assert (data["host"], data["port"], data["secure"], data["username"]) == (
        host,
        port,
        secure,
        user,
    )
    assert data["protocol"] == "http"
    if "s3cret" in dsn:
        assert source["secureJsonData"]["password"] == "${" + PASSWORD_ENV + "}"


def test_provider_points_at_the_dashboards_folder(tmp_path: Path) -> None:
    out = _built(tmp_path)
    document = yaml.safe_load((out / "provisioning/dashboards/civicpulse.yaml").read_text())
    (provider,) = document["providers"]
    assert document["apiVersion"] == 1 and provider["type"] == "file"
    assert Path(provider["options"]["path"]) == (out / "dashboards").resolve()


def test_cli_build_writes_the_tree(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboards", "build", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out/dashboards").glob("civicpulse-*.json"))) == len(UIDS) + 1
    assert (tmp_path / "out/provisioning/datasources/civicpulse.yaml").is_file()


def test_every_board_is_built() -> None:
    assert {b.uid for b in boards("UTC")} == UIDS
