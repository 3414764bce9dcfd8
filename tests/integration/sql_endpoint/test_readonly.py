"""Writes, escapes and strangers are refused with ClickHouse's errors and change nothing; a
query over the limits is stopped with ClickHouse's error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from civicpulse.api.sql_endpoint import SqlServer, start_sql_server
from civicpulse.api.sql_endpoint.errors import SqlEndpointError
from civicpulse.infra.kafka_process import free_port

from .conftest import Endpoint, endpoint_settings

pytestmark = pytest.mark.integration

WRITES = [
    "INSERT INTO presses (event_id) VALUES ('x')",
    "DROP TABLE presses",
    "ALTER TABLE presses DELETE WHERE 1",
    "TRUNCATE TABLE presses",
    "CREATE TABLE evil (a UInt8) ENGINE = Memory",
    "SYSTEM DROP MARK CACHE",
    "KILL QUERY WHERE 1",
]
ESCAPES = [
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
    "SELECT * FROM executable('date', 'TSV', 'x String')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM s3('http://127.0.0.1:9/b/x.csv')",
    "SELECT * FROM mysql('127.0.0.1:9', 'd', 't', 'u', 'p')",
    "SELECT * FROM python(Endpoint)",
    "SELECT * FROM filesystem('/etc')",
    "SELECT * FROM oss('http://127.0.0.1:9/b/x.csv')",
    "SELECT file('/etc/passwd')",
    "SELECT * FROM `file`('/etc/passwd', 'LineAsString')",
    "SELECT `file`('/etc/passwd')",
    "SELECT 1 INTO OUTFILE '/tmp/civicpulse-sql-endpoint-test'",
    "SELECT 1; DROP TABLE presses",
    "SELECT 1 SETTINGS max_execution_time = 100000",
]


def _query(endpoint: Endpoint, sql: str, auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        endpoint.url,
        params={"database": endpoint.settings.clickhouse_database},
        content=sql,
        auth=auth or ("tester", endpoint.token),
        timeout=30,
    )


def _snapshot(endpoint: Endpoint) -> dict[str, tuple[int, int]]:
    """Rows and a content hash of every table of the database."""
    client = endpoint.direct
    tables = [row[0] for row in client.query("SHOW TABLES").result_rows]
    snapshot: dict[str, tuple[int, int]] = {}
    for table in tables:
        rows, digest = client.query(
            f"SELECT count(), groupBitXor(cityHash64(*)) FROM `{table}`"
        ).result_rows[0]
        snapshot[table] = (rows, digest)
    return snapshot


def test_writes_and_escapes_are_refused_and_change_nothing(endpoint: Endpoint) -> None:
    before = _snapshot(endpoint)
    assert before["presses"][0] > 0
    for sql in WRITES + ESCAPES:
        response = _query(endpoint, sql)
        code = response.headers.get("X-ClickHouse-Exception-Code")
        assert response.status_code in (400, 403), (sql, response.text)
        assert code in ("164", "564", "62"), (sql, response.text)
        assert response.text.startswith(f"Code: {code}. DB::Exception: "), response.text
    assert _snapshot(endpoint) == before


def test_names_from_the_client_cannot_carry_statements(endpoint: Endpoint) -> None:
    """The database and setting names reach the engine spliced into USE/SET: identifiers only."""
    escape = "x`; SELECT * FROM file('/etc/passwd', 'LineAsString'); USE `default"
    response = httpx.post(endpoint.url, params={"database": escape}, content="SELECT 1",
                          auth=("t", endpoint.token))  # fmt: skip
    assert response.headers["X-ClickHouse-Exception-Code"] == "81"
    assert "root:" not in response.text
    response = httpx.post(endpoint.url, params={"max_threads = 1; SELECT 1 --": "1"},
                          content="SELECT 1", auth=("t", endpoint.token))  # fmt: skip
    assert response.headers["X-ClickHouse-Exception-Code"] == "115"


def test_the_engine_itself_refuses_writes(endpoint: Endpoint) -> None:
    """Past the guard (called on the pool directly), readonly handles still refuse."""
    pool = endpoint.server.app.pool
    for sql in [*WRITES[:5], "SELECT 1 SETTINGS readonly = 0"]:
        with pytest.raises(SqlEndpointError) as caught:
            pool.run(sql, "TabSeparated")
        assert caught.value.code == 164, sql
        assert "readonly mode" in caught.value.text


def test_wrong_missing_and_revoked_passwords(endpoint: Endpoint) -> None:
    for auth in [("grafana", "not-a-token"), ("grafana", "")]:
        response = _query(endpoint, "SELECT 1", auth)
        assert response.status_code == 401
        assert response.headers["X-ClickHouse-Exception-Code"] == "516"
        assert "Authentication failed" in response.text
    anonymous = httpx.post(endpoint.url, content="SELECT 1")
    assert anonymous.headers["X-ClickHouse-Exception-Code"] == "516"

    token = endpoint.tokens.add("short-lived")
    assert _query(endpoint, "SELECT 1", ("bi", token)).text == "1\n"
    endpoint.tokens.revoke("short-lived")
    revoked = time.monotonic()
    while _query(endpoint, "SELECT 1", ("bi", token)).status_code == 200:
        assert time.monotonic() - revoked < 3, "a revoked token still works after 3 s"
        time.sleep(0.1)


@pytest.fixture
def tight(endpoint: Endpoint) -> Iterator[SqlServer]:
    """A second endpoint on the same engine with small limits and one slot."""
    settings = endpoint_settings(
        endpoint.path,
        endpoint.settings.clickhouse_database,
        sql_port=free_port(),
        sql_max_concurrent_queries=1,
        sql_queue_seconds=0.3,
        sql_max_execution_time=0.5,
        sql_max_result_rows=100,
    )
    server = start_sql_server(settings, endpoint.tokens)
    assert server is not None
    yield server
    server.stop()


SLOW = "SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) % 7 = 3"


def test_queries_over_the_limits_are_stopped(endpoint: Endpoint, tight: SqlServer) -> None:
    url = f"http://{tight.host}:{tight.port}/"

    def ask(sql: str) -> httpx.Response:
        return httpx.post(url, content=sql, auth=("t", endpoint.token), timeout=30)

    too_many = ask("SELECT number FROM numbers(1000)")
    assert too_many.headers["X-ClickHouse-Exception-Code"] == "396", too_many.text
    assert "Limit for result exceeded" in too_many.text
    started = time.monotonic()
    too_long = ask(SLOW)
    assert too_long.headers["X-ClickHouse-Exception-Code"] == "159", too_long.text
    assert "Timeout exceeded" in too_long.text
    assert time.monotonic() - started < 5
    # A client's own max_execution_time (clickhouse-go sends one) does not lift the limit.
    lifted = httpx.post(url, params={"max_execution_time": "3600"}, content=SLOW,
                        auth=("t", endpoint.token), timeout=30)  # fmt: skip
    assert lifted.headers["X-ClickHouse-Exception-Code"] == "159"

    busy: list[httpx.Response] = []
    holder = threading.Thread(target=lambda: busy.append(ask(SLOW)))
    holder.start()
    time.sleep(0.1)
    waited = ask("SELECT 1")
    holder.join()
    assert waited.headers["X-ClickHouse-Exception-Code"] == "202", waited.text
    assert waited.status_code == 503


def test_a_busy_port_is_a_clear_error(endpoint: Endpoint) -> None:
    settings = endpoint_settings(
        endpoint.path, endpoint.settings.clickhouse_database, sql_port=endpoint.server.port
    )
    with pytest.raises(SqlEndpointError, match="could not listen"):
        start_sql_server(settings, endpoint.tokens)
