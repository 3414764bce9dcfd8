"""Grafana provisioning files: the ClickHouse and Prometheus data sources, the dashboard provider.

The data source points at the ClickHouse server of the settings' DSN (host, port, protocol,
user). Its password is never written to disk: the file references an environment variable that
Grafana expands at start-up. With embedded chDB (the default) it points at the SQL endpoint of
the process that owns the store (``civicpulse up``: ClickHouse's HTTP interface on
``CIVICPULSE_SQL_HOST:CIVICPULSE_SQL_PORT``), whose password is a query-API token.

The Prometheus data source (the pipeline health board, :mod:`.health`) points at the Prometheus
server that scrapes the processes' /metrics (``infra/prometheus/prometheus.yml``); its
``timeInterval`` is that server's scrape interval, which Grafana's ``$__rate_interval`` builds on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from civicpulse.dashboards.health import PROMETHEUS_TYPE, PROMETHEUS_UID
from civicpulse.dashboards.query import DATASOURCE_TYPE, DATASOURCE_UID
from civicpulse.schemas.settings import Settings

__all__ = [
    "DEFAULT_PROMETHEUS_URL",
    "DEFAULT_SCRAPE_INTERVAL",
    "PASSWORD_ENV",
    "datasource_yaml",
    "provider_yaml",
]

PASSWORD_ENV = "CIVICPULSE_CLICKHOUSE_PASSWORD"
#: Prometheus on the machine that runs `civicpulse up` (its /metrics listen on loopback)
DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"
#: infra/prometheus/prometheus.yml's global scrape_interval
DEFAULT_SCRAPE_INTERVAL = "15s"
_DEFAULT_PORTS = {"http": 8123, "https": 8443}
_EMBEDDED_NOTE = (
    "# Embedded chDB: Grafana reads it through the SQL endpoint of `civicpulse up` (ClickHouse's\n"
    "# HTTP interface, read-only). Its password is a query-API token: run `civicpulse tokens add\n"
    "# grafana` and give it to Grafana as the environment variable {env}.\n"
)
_ANY_ADDRESS = ("0.0.0.0", "::", "")


def _server(settings: Settings) -> tuple[dict[str, Any], str, bool]:
    """(jsonData, header comment, has password) for the configured server."""
    dsn = settings.clickhouse_url
    parts = urlsplit(dsn)
    database = settings.clickhouse_database
    if parts.scheme not in _DEFAULT_PORTS:
        host = "127.0.0.1" if settings.sql_host in _ANY_ADDRESS else settings.sql_host
        data = {"host": host, "port": settings.sql_port, "protocol": "http", "secure": False}
        note = _EMBEDDED_NOTE.format(env=PASSWORD_ENV)
        return {**data, "username": "grafana", "defaultDatabase": database}, note, True
    data = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or _DEFAULT_PORTS[parts.scheme],
        "protocol": "http",
        "secure": parts.scheme == "https",
        "username": unquote(parts.username or "default"),
        "defaultDatabase": database,
    }
    if parts.path not in ("", "/"):
        data["path"] = parts.path
    note = f"# ClickHouse server from CIVICPULSE_CLICKHOUSE_DSN ({parts.scheme}).\n"
    return data, note, bool(parts.password)


def _prometheus(url: str, scrape_interval: str) -> dict[str, Any]:
    return {
        "name": "civicpulse Prometheus",
        "type": PROMETHEUS_TYPE,
        "uid": PROMETHEUS_UID,
        "access": "proxy",
        "url": url,
        "editable": False,
        "jsonData": {"timeInterval": scrape_interval, "httpMethod": "POST"},
    }


def datasource_yaml(
    settings: Settings,
    prometheus_url: str = DEFAULT_PROMETHEUS_URL,
    scrape_interval: str = DEFAULT_SCRAPE_INTERVAL,
) -> str:
    """``provisioning/datasources/civicpulse.yaml``: the ``grafana-clickhouse-datasource`` of
    the city boards and the Prometheus of the pipeline health board."""
    json_data, note, has_password = _server(settings)
    source: dict[str, Any] = {
        "name": "civicpulse ClickHouse",
        "type": DATASOURCE_TYPE,
        "uid": DATASOURCE_UID,
        "access": "proxy",
        "editable": False,
        "jsonData": json_data,
    }
    if has_password:
        # Grafana expands $VAR in provisioning files: the secret stays in its environment.
        source["secureJsonData"] = {"password": "${" + PASSWORD_ENV + "}"}
        note += f"# Grafana reads the password from its environment variable {PASSWORD_ENV}.\n"
    note += f"# Prometheus: the server that scrapes every /metrics, every {scrape_interval}.\n"
    sources = [source, _prometheus(prometheus_url, scrape_interval)]
    body = yaml.safe_dump({"apiVersion": 1, "datasources": sources}, sort_keys=False)
    return note + body


def provider_yaml(dashboards_path: Path | str) -> str:
    """``provisioning/dashboards/civicpulse.yaml``: load every JSON file of the folder."""
    provider = {
        "name": "civicpulse",
        "orgId": 1,
        "folder": "civicpulse",
        "type": "file",
        "disableDeletion": False,
        "allowUiUpdates": False,
        "updateIntervalSeconds": 30,
        "options": {"path": str(dashboards_path), "foldersFromFilesStructure": False},
    }
    header = (
        "# civicpulse dashboards as code: edit the code and run `civicpulse dashboards build`\n"
    )
    return header + yaml.safe_dump({"apiVersion": 1, "providers": [provider]}, sort_keys=False)
