"""clickhouse-connect over HTTP (what Superset uses) reads exactly what chDB gives directly."""

from __future__ import annotations

import gzip
import math
import urllib.request
from typing import Any

import clickhouse_connect
import httpx
import orjson
import pytest

from tests.integration.dashboards.test_panels import _cases, _variable_cases

from .conftest import Endpoint, panel_queries

pytestmark = pytest.mark.integration


def _same(value: Any) -> Any:
    # NaN is the one value that is not equal to itself.
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def test_every_panel_query_gives_chdbs_rows(endpoint: Endpoint) -> None:
    client = clickhouse_connect.get_client(
        host=endpoint.server.host,
        port=endpoint.server.port,
        username="superset",
        password=endpoint.token,
        database=endpoint.settings.clickhouse_database,
    )
    queries = panel_queries(endpoint.stored)
    # every case the dashboard tests check against their oracles
    assert len(queries) == len(_cases()) + len(_variable_cases())
    nonempty = 0
    for name, sql in queries:
        want = [tuple(map(_same, row)) for row in endpoint.direct.query(sql).result_rows]
        got = [tuple(map(_same, row)) for row in client.query(sql).result_rows]
        assert got == want, name
        nonempty += bool(want)
    assert nonempty > len(queries) // 2, "the city should give most panels rows"


def _post(endpoint: Endpoint, sql: str, **params: str) -> httpx.Response:
    return httpx.post(
        endpoint.url,
        params={"database": endpoint.settings.clickhouse_database, **params},
        content=sql,
        auth=("bi", endpoint.token),
        headers={"Accept-Encoding": "gzip"},
    )


@pytest.mark.parametrize(
    "output_format",
    ["TabSeparatedWithNames", "CSVWithNames", "JSONEachRow", "Parquet",
     "RowBinaryWithNamesAndTypes", "Native"],
)  # fmt: skip
def test_formats_are_chdbs_bytes_unchanged(endpoint: Endpoint, output_format: str) -> None:
    sql = "SELECT site_id, count() AS presses FROM presses GROUP BY site_id ORDER BY site_id"
    by_clause = _post(endpoint, f"{sql} FORMAT {output_format}")
    by_default = _post(endpoint, sql, default_format=output_format)
    direct = endpoint.direct.raw_query(sql, fmt=output_format)
    assert by_clause.status_code == by_default.status_code == 200, by_clause.text
    assert by_clause.content == by_default.content == direct
    assert by_clause.headers["X-ClickHouse-Format"] == output_format


def test_headers_drivers_read_and_compression(endpoint: Endpoint) -> None:
    sql = "SELECT count() FROM presses"
    response = _post(endpoint, sql, query_id="q-42", enable_http_compression="1")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["X-ClickHouse-Query-Id"] == "q-42"
    assert response.headers["X-ClickHouse-Format"] == "TabSeparated"
    assert response.headers["X-ClickHouse-Timezone"]
    summary = orjson.loads(response.headers["X-ClickHouse-Summary"])
    assert int(summary["read_rows"]) > 0
    assert response.content == endpoint.direct.raw_query(sql)  # httpx undid the gzip
    request = urllib.request.Request(
        f"{endpoint.url}?enable_http_compression=1&query=SELECT%201",
        headers={"Accept-Encoding": "gzip", "X-ClickHouse-User": "bi",
                 "X-ClickHouse-Key": endpoint.token},
    )  # fmt: skip
    with urllib.request.urlopen(request) as raw:  # urllib leaves the body as sent
        assert gzip.decompress(raw.read()) == b"1\n"


def test_query_parameters_and_ping(endpoint: Endpoint) -> None:
    response = _post(endpoint, "SELECT {n:UInt8} + 1", param_n="41")
    assert response.text == "42\n"
    assert httpx.get(f"{endpoint.url}ping").text == "Ok.\n"
    assert httpx.get(endpoint.url).text == "Ok.\n"


def test_url_settings_apply_to_their_query_only(endpoint: Endpoint) -> None:
    sql = "SELECT getSetting('max_block_size')"
    default = endpoint.direct.command(sql)
    assert _post(endpoint, sql, max_block_size="1234").text == "1234\n"
    for _ in range(endpoint.settings.sql_max_concurrent_queries + 1):  # every handle reverted
        assert _post(endpoint, sql).text == f"{default}\n"
    unknown = _post(endpoint, "SELECT 1", no_such_setting="1")
    assert unknown.headers["X-ClickHouse-Exception-Code"] == "115", unknown.text
    # A client's limit is not the endpoint's: the configured one stays.
    limit = _post(endpoint, "SELECT getSetting('max_execution_time')", max_execution_time="9")
    assert float(limit.text) == endpoint.settings.sql_max_execution_time
