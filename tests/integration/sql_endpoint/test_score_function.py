"""Grafana's panels reach the score's SQL functions (migration 0010) through the endpoint's
read-only handles, and nobody on the endpoint can replace or drop the formula."""

from __future__ import annotations

import clickhouse_connect
import httpx
import pytest

from civicpulse.api.sql_endpoint.errors import SqlEndpointError
from civicpulse.stream.stages.scores.formula import Counts

from .conftest import Endpoint, panel_queries

pytestmark = pytest.mark.integration

FUNCTIONS = ("civicpulse_score(", "civicpulse_presses_score(")
REPLACEMENTS = [
    "CREATE OR REPLACE FUNCTION civicpulse_score AS (n1, n2, n3, n4) -> 100",
    "DROP FUNCTION civicpulse_score",
    "DROP FUNCTION IF EXISTS civicpulse_presses_score",
]
PROBE = "SELECT civicpulse_score(0, 1, 2, 3) AS score"


def test_panels_calling_the_score_functions_give_chdbs_rows(endpoint: Endpoint) -> None:
    client = clickhouse_connect.get_client(
        host=endpoint.server.host,
        port=endpoint.server.port,
        username="grafana",
        password=endpoint.token,
        database=endpoint.settings.clickhouse_database,
    )
    calling = [
        (n, sql) for n, sql in panel_queries(endpoint.stored) if any(map(sql.count, FUNCTIONS))
    ]
    for function in FUNCTIONS:
        assert any(function in sql for _, sql in calling), f"no panel calls {function}"
    scored = 0
    for name, sql in calling:
        want = endpoint.direct.query(sql)
        got = client.query(sql)
        assert got.result_rows == want.result_rows, name
        column = want.column_names.index("score")
        scored += sum(row[column] is not None for row in want.result_rows)
    assert scored > 0, "the city should give the scored panels scores"


def test_the_endpoint_cannot_replace_or_drop_the_formula(endpoint: Endpoint) -> None:
    for sql in REPLACEMENTS:
        response = httpx.post(
            endpoint.url,
            params={"database": endpoint.settings.clickhouse_database},
            content=sql,
            auth=("grafana", endpoint.token),
            timeout=30,
        )
        assert response.headers.get("X-ClickHouse-Exception-Code") == "164", response.text
        # past the guard, the read-only handle itself refuses
        with pytest.raises(SqlEndpointError) as caught:
            endpoint.server.app.pool.run(sql, "TabSeparated")
        assert caught.value.code == 164, sql
    score = endpoint.direct.query(PROBE).result_rows[0][0]
    assert score == Counts(0, 1, 2, 3).score
