"""One SQL endpoint for the package's tests, serving the simulated city of the dashboard tests.

The endpoint runs in this test process on the session's chDB path (its own read-only handles,
as in ``civicpulse up``), on a free port, with a token store of its own. With a ClickHouse server
configured (``CIVICPULSE_CLICKHOUSE_DSN=http...``) the endpoint is off by design, so these tests
skip: clients then talk to the server itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.api.query.tokens import ApiTokens
from civicpulse.api.sql_endpoint import SqlServer, start_sql_server
from civicpulse.dashboards.macros import expand
from civicpulse.infra.kafka_process import free_port
from civicpulse.schemas.settings import Settings
from tests.fixtures.clickhouse import _server_dsn
from tests.integration.dashboards.city import Stored, load_city
from tests.integration.dashboards.test_panels import (
    BOARDS,
    CTX,
    SELECTIONS,
    _selection,
    _variables,
)


@dataclass(frozen=True)
class Endpoint:
    """A running endpoint over a loaded city, and the direct client on the same database."""

    server: SqlServer
    settings: Settings
    tokens: ApiTokens
    token: str
    direct: Client
    stored: Stored
    #: the engine's chDB folder
    path: Path

    @property
    def address(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/"


def endpoint_settings(path: Path, database: str, **limits: Any) -> Settings:
    return Settings(
        clickhouse_dsn=f"chdb://{path}",
        clickhouse_database=database,
        data_dir=path.parent,
        **limits,
    )


@pytest.fixture(scope="session")
def endpoint(
    chdb_session_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoint]:
    if _server_dsn():
        pytest.skip("a ClickHouse server is configured: the SQL endpoint is off by design")
    from civicpulse.sink.clickhouse import create_client
    from civicpulse.sink.migrate import migrate

    database = f"t_{uuid.uuid4().hex[:12]}"
    settings = endpoint_settings(chdb_session_path, database, sql_port=free_port())
    migrate(settings)
    direct = create_client(settings)
    stored = load_city(direct)
    tokens = ApiTokens(tmp_path_factory.mktemp("sql-tokens") / "api-tokens.json")
    token = tokens.add("grafana")
    server = start_sql_server(settings, tokens)
    assert server is not None
    try:
        yield Endpoint(server, settings, tokens, token, direct, stored, chdb_session_path)
    finally:
        server.stop()
        create_client(settings, database="default").command(f"DROP DATABASE `{database}`")


def panel_queries(stored: Stored) -> list[tuple[str, str]]:
    """(id, SQL) of every panel and query variable of every dashboard, expanded as the plugin
    expands them, over the selections the dashboard tests use."""
    queries: list[tuple[str, str]] = []
    for uid, board in BOARDS.items():
        for label in SELECTIONS.get(uid, ["default"]):
            selection = _selection(uid, label, stored)
            for panel in board.panels:
                sql = expand(panel.sql, CTX, _variables(board, selection), board.all_values)
                queries.append((f"{uid}/{panel.title}/{label}", sql))
            for variable in board.variables:
                if variable.query is not None:
                    chosen = {k: v for k, v in selection.items() if k != variable.name}
                    sql = expand(variable.query, CTX, _variables(board, chosen), board.all_values)
                    queries.append((f"{uid}/${variable.name}/{label}", sql))
    return queries
