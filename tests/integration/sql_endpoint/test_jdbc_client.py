"""The ClickHouse JDBC driver (what DBeaver and Metabase load) runs panel queries, with its
default settings (so ClickHouse's block compression, compress=1, which it verifies)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .clients import JDBC_SOURCES, jdbc_classpath
from .conftest import Endpoint, panel_queries

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("java") is None or shutil.which("mvn") is None,
        reason="needs Java 17+ and Maven (scripts/bootstrap --dev installs them)",
    ),
]

TYPED = (
    "SELECT toDateTime('2026-11-17 05:00:00', 'UTC') AS at, toFloat64(72.5) AS score, "
    "toLowCardinality('citizen') AS kind, CAST(NULL AS Nullable(UInt64)) AS missing, "
    "toUInt64(7) AS presses"
)


def _run(endpoint: Endpoint, queries: list[str]) -> list[list[str]]:
    """Each query's output lines (a "# columns" line, then rows; or one "# error" line)."""
    url = f"jdbc:clickhouse://{endpoint.address}/{endpoint.settings.clickhouse_database}"
    completed = subprocess.run(
        ["java", "-cp", jdbc_classpath(), str(JDBC_SOURCES / "PanelQuery.java"),
         url],
        input="\n".join(q.replace("\n", "\\n") for q in queries) + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "JDBC_PASSWORD": endpoint.token},
        timeout=300,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    results: list[list[str]] = []
    for line in completed.stdout.splitlines():
        if line.startswith("# "):
            results.append([line])
        else:
            results[-1].append(line)
    return results


def test_panel_queries_through_jdbc(endpoint: Endpoint) -> None:
    named = dict(panel_queries(endpoint.stored))
    panel = named[
        "civicpulse-city-overview/Citizen score: this hour vs yesterday vs 4 weeks ago/default"
    ]
    departments = next(
        sql for name, sql in named.items() if name.endswith("/$department/all-departments")
    )
    typed, dropped, by_panel, by_variable = _run(
        endpoint, [TYPED, "DROP TABLE presses", panel, departments]
    )
    assert typed == [
        "# columns\tat:DateTime('UTC')\tscore:Float64\tkind:LowCardinality(String)"
        "\tmissing:Nullable(UInt64)\tpresses:UInt64",
        "2026-11-17 05:00:00.0\t72.5\tcitizen\t\\N\t7",
    ]
    assert dropped[0].startswith("# error 164 Code: 164. DB::Exception:")
    want = endpoint.direct.query(panel)
    assert by_panel[0].split("\t")[1:] == [
        f"{name}:{column_type.name}"
        for name, column_type in zip(want.column_names, want.column_types, strict=True)
    ]
    assert len(by_panel) - 1 == len(want.result_rows) > 0
    listed = [line for line in by_variable[1:]]
    assert listed == [str(row[0]) for row in endpoint.direct.query(departments).result_rows]
    assert listed
