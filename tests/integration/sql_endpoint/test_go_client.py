"""clickhouse-go v2 over HTTP — the driver inside Grafana's ClickHouse plugin — runs every panel
query and scans typed values; its rows are chDB's rows."""

from __future__ import annotations

import math
import os
import subprocess
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from .clients import go_binary, go_client
from .conftest import Endpoint, panel_queries

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(go_binary() is None, reason="needs a Go toolchain >= 1.26 (go.dev/dl)"),
]

TYPED = (
    "SELECT toDateTime('2026-11-17 05:00:00', 'UTC') AS at, toFloat64(72.5) AS score, "
    "'d-civil' AS department, toLowCardinality('citizen') AS kind, "
    "CAST(NULL AS Nullable(Float64)) AS missing, toUInt64(18446744073709551615) AS big"
)


def _run(endpoint: Endpoint, queries: list[str], lz4: bool) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [str(go_client()), endpoint.address, endpoint.settings.clickhouse_database],
        input=orjson.dumps(queries),
        capture_output=True,
        env={**os.environ, "SQLCLIENT_PASSWORD": endpoint.token, "SQLCLIENT_LZ4": str(int(lz4))},
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    return [orjson.loads(line) for line in completed.stdout.splitlines()]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[str(value)]
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


@pytest.mark.parametrize("lz4", [False, True], ids=["plain", "lz4-compress=1"])
def test_panels_and_typed_values_through_clickhouse_go(endpoint: Endpoint, lz4: bool) -> None:
    named = panel_queries(endpoint.stored)
    results = _run(endpoint, [TYPED, "DROP TABLE presses"] + [sql for _, sql in named], lz4)
    typed, drop, panels = results[0], results[1], results[2:]

    assert typed.get("error") is None, typed
    assert typed["types"] == [
        "DateTime", "Float64", "String", "LowCardinality(String)", "Nullable(Float64)", "UInt64",
    ]  # fmt: skip
    assert typed["rows"] == [["2026-11-17T05:00:00Z", 72.5, "d-civil", "citizen", None,
                              18446744073709551615]]  # fmt: skip
    assert drop["code"] == 164

    assert len(panels) == len(named)
    for (name, sql), got in zip(named, panels, strict=True):
        assert got.get("error") is None, (name, got)
        want = endpoint.direct.query(sql)
        assert got["columns"] == list(want.column_names), name
        assert len(got["rows"]) == len(want.result_rows), name
        for got_row, want_row in zip(got["rows"], want.result_rows, strict=True):
            for got_value, want_value in zip(got_row, want_row, strict=True):
                expected = _plain(want_value)
                if isinstance(expected, float):
                    assert got_value == pytest.approx(expected, rel=1e-12), name
                else:
                    assert got_value == expected, name
