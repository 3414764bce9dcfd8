"""Grafana provisioning files: the ClickHouse data source and the dashboard provider.

The data source points at the ClickHouse server of the settings' DSN (host, port, protocol,
user). Its password is never written to disk: the file references an environment variable that
Grafana expands at start-up. Embedded chDB has no server Grafana could reach, so the default
DSN gives a data source for a local server on 127.0.0.1:8123 and says so in a comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from civicpulse.schemas.settings import Settings

from .query import DATASOURCE_TYPE, DATASOURCE_UID

__all__ = ["PASSWORD_ENV", "datasource_yaml", "provider_yaml"]

PASSWORD_ENV = "CIVICPULSE_CLICKHOUSE_PASSWORD"
_DEFAULT_PORTS = {"http": 8123, "https": 8443}
_EMBEDDED_NOTE = (
    "# CIVICPULSE_CLICKHOUSE_DSN is embedded chDB, which Grafana cannot reach: Grafana needs a\n"
    "# ClickHouse server. This data source expects one on 127.0.0.1:8123 (HTTP); run one there\n"
    "# or set CIVICPULSE_CLICKHOUSE_DSN=http(s)://user:pass@host:port and build again.\n"
)


def _server(settings: Settings) -> tuple[dict[str, Any], str, bool]:
    """(jsonData, header comment, has password) for the configured server."""
    dsn = settings.clickhouse_url
    parts = urlsplit(dsn)
    database = settings.clickhouse_database
    if parts.scheme not in _DEFAULT_PORTS:
        data = {"host": "127.0.0.1", "port": 8123, "protocol": "http", "secure": False}
        return {**data, "username": "default", "defaultDatabase": database}, _EMBEDDED_NOTE, False
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


def datasource_yaml(settings: Settings) -> str:
    """``provisioning/datasources/civicpulse.yaml`` for the ``grafana-clickhouse-datasource``."""
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
    body = yaml.safe_dump({"apiVersion": 1, "datasources": [source]}, sort_keys=False)
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
