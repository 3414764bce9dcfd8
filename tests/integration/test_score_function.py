"""The score's SQL functions (migration 0010) against the stream's formula, on the real engine.

``civicpulse_score`` must give the very float ``Counts.score`` gives for any counts (zero and
counts far beyond a city's, in the integer types the tables and sums have), and
``civicpulse_presses_score`` the score of the raw presses it is given. A SQL function is global
to the engine, not to a database: it must survive a fresh process on the data path, a second
database migrated on the same engine, a re-run of the migration and a read-only handle (what the
SQL endpoint serves Grafana with).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
from civicpulse.sink.migrate import discover_migrations, migrate
from civicpulse.stream.stages.scores.formula import Counts
from tests.fixtures.clickhouse import run_civicpulse

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration

# Counts up to 2**58: the function's integer sums (3 * n at most 12 * 2**58) stay inside Int64
# and UInt64, where both sides compute exactly; a city's real counts are below 2**32.
_LIMITS = {"UInt32": 2**32 - 1, "UInt64": 2**58, "Int64": 2**58}
_CHECKS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _counts(limit: int) -> st.SearchStrategy[tuple[int, int, int, int]]:
    one = st.one_of(st.just(0), st.integers(0, 60), st.integers(0, limit))
    return st.tuples(one, one, one, one)


def _sql_scores(
    client: Client, type_name: str, rows: list[tuple[int, int, int, int]]
) -> list[float | None]:
    """``civicpulse_score`` of each row of counts, passed as ``type_name`` values."""
    result = client.query(
        "SELECT civicpulse_score(c.1, c.2, c.3, c.4) "
        f"FROM (SELECT arrayJoin({{rows:Array(Tuple({', '.join([type_name] * 4)}))}}) AS c)",
        parameters={"rows": rows},
    )
    return [row[0] for row in result.result_rows]


@pytest.mark.parametrize("type_name", sorted(_LIMITS))
def test_sql_score_is_the_stream_formula_float_for_float(
    clickhouse_client: Client, type_name: str
) -> None:
    @_CHECKS
    @given(rows=st.lists(_counts(_LIMITS[type_name]), min_size=1, max_size=30))
    @example(rows=[(0, 0, 0, 0), (1, 0, 0, 0), (0, 0, 0, 1), (1, 1, 1, 1), (0, 1, 0, 0)])
    @example(rows=[(_LIMITS[type_name],) * 4, (0, _LIMITS[type_name], 0, 7)])
    def check(rows: list[tuple[int, int, int, int]]) -> None:
        # exact equality: both compute the integer sums exactly, then the same two IEEE
        # operations (100.0 * float(sum), then / float(3 * n)) with the same rounding
        assert _sql_scores(clickhouse_client, type_name, rows) == [
            Counts(*row).score for row in rows
        ]

    check()


def test_presses_score_is_the_score_of_the_included_buttons(clickhouse_client: Client) -> None:
    @_CHECKS
    @given(presses=st.lists(st.tuples(st.integers(1, 4), st.booleans()), max_size=200))
    @example(presses=[])
    @example(presses=[(4, False), (1, False)])
    def check(presses: list[tuple[int, bool]]) -> None:
        row = clickhouse_client.query(
            "SELECT civicpulse_presses_score(p.1, p.2), civicpulse_presses_score(p.1, true) "
            "FROM (SELECT arrayJoin({presses:Array(Tuple(UInt8, Bool))}) AS p)",
            parameters={"presses": presses},
        ).result_rows[0]
        included = Counts.of(button for button, keep in presses if keep)
        assert row == (included.score, Counts.of(button for button, _ in presses).score)

    check()


def test_a_second_database_on_the_engine_shares_the_function(
    clickhouse_settings: Settings, clickhouse_client: Client
) -> None:
    other = clickhouse_settings.model_copy(
        update={"clickhouse_database": f"t_{uuid.uuid4().hex[:12]}"}
    )
    try:
        report = migrate(other)
        assert [m.version for m in report.applied] == [m.version for m in discover_migrations()]
        assert _sql_scores(create_client(other), "UInt64", [(1, 2, 3, 4)]) == [
            Counts(1, 2, 3, 4).score
        ]
    finally:
        create_client(other, database="default").command(
            f"DROP DATABASE IF EXISTS `{other.clickhouse_database}`"
        )
    # dropping a database leaves the engine's function to the others
    assert _sql_scores(clickhouse_client, "UInt64", [(1, 2, 3, 4)]) == [Counts(1, 2, 3, 4).score]


# Runs in a fresh process on a path another process migrated: calls the functions through the
# factory, migrates a second database on the engine, re-runs migration 0010's statements, and
# calls both functions on a read-only handle as the SQL endpoint opens them.
_PROBE = """
import json, sys
import chdb
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
from civicpulse.sink.migrate import discover_migrations, migrate
path = sys.argv[1]
settings = Settings(clickhouse_dsn="chdb://" + path)
sql = ("SELECT civicpulse_score(0, 1, 2, 3), "
       "civicpulse_presses_score(number % 4 + 1, number < 6) FROM numbers(10)")
out = {"fresh": list(create_client(settings).query(sql).result_rows[0])}
other = settings.model_copy(update={"clickhouse_database": "civicpulse_second"})
out["second_applied"] = [m.version for m in migrate(other).applied]
for statement in next(m for m in discover_migrations() if m.version == 10).statements:
    create_client(settings).command(statement)
out["rerun"] = list(create_client(other).query(sql).result_rows[0])
handle = chdb.connect(path)
handle.query("SET readonly = 2", "TabSeparated")
out["readonly"] = handle.query(sql, "JSONCompact").bytes().decode()
print(json.dumps(out))
"""


def test_the_function_survives_a_fresh_process_a_rerun_and_readonly(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    migrated = run_civicpulse("db", "migrate", env={"CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{path}"})
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert (path / "user_defined" / "function_civicpulse_score.sql").is_file()
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    out = json.loads(probe.stdout.strip().splitlines()[-1])
    # presses 0..5 included: buttons 1, 2, 3, 4, 1, 2
    want = [Counts(0, 1, 2, 3).score, Counts.of([1, 2, 3, 4, 1, 2]).score]
    assert out["fresh"] == want
    assert out["second_applied"] == [m.version for m in discover_migrations()]
    assert out["rerun"] == want
    assert json.loads(out["readonly"])["data"] == [want]
