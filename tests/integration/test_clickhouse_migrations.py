"""Migrations and the client factory against the real embedded engine (chDB)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
from civicpulse.sink.exceptions import EnginePathConflictError, MigrationChecksumError
from civicpulse.sink.migrate import discover_migrations, migrate, migrations_dir
from tests.fixtures.clickhouse import run_civicpulse

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration

EXPECTED_COLUMNS = {
    "presses": {
        "event_id": "UUID",
        "channel": "Enum8('terminal' = 1, 'web' = 2)",
        "device_id": "LowCardinality(String)",
        "button": "UInt8",
        "pressed_at": "DateTime64(3, 'UTC')",
        "received_at": "DateTime64(3, 'UTC')",
        "visitor": "Nullable(String)",
        "reason": "LowCardinality(Nullable(String))",
        "lang": "LowCardinality(Nullable(String))",
        "site_id": "LowCardinality(Nullable(String))",
        "department_id": "LowCardinality(Nullable(String))",
        "question_id": "LowCardinality(Nullable(String))",
        "question_kind": "Nullable(Enum8('citizen' = 1, 'employee' = 2))",
    },
    "scores": {
        "scope": "Enum8('device' = 1, 'site' = 2, 'department' = 3, 'question' = 4, 'city' = 5)",
        "scope_id": "LowCardinality(String)",
        "kind": "Enum8('citizen' = 1, 'employee' = 2)",
        "window": "Enum8('15m' = 1, '1h' = 2, '1d' = 3)",
        "window_start": "DateTime64(3, 'UTC')",
        "window_end": "DateTime64(3, 'UTC')",
        "n": "UInt32",
        "n1": "UInt32",
        "n4": "UInt32",
        "score": "Nullable(Float64)",
        "positive_share": "Nullable(Float64)",
    },
    "alerts": {
        "alert_id": "UUID",
        "state": "Enum8('opened' = 1, 'resolved' = 2)",
        "scope": "Enum8('department' = 1, 'site' = 2, 'device' = 3)",
        "scope_id": "LowCardinality(String)",
        "department_id": "LowCardinality(String)",
        "mode": "Enum8('threshold' = 1, 'confidence' = 2)",
        "score": "Float64",
        "n": "UInt32",
        "threshold": "Float64",
        "window_start": "DateTime64(3, 'UTC')",
        "window_end": "DateTime64(3, 'UTC')",
        "at": "DateTime64(3, 'UTC')",
        "kind": "Enum8('low_score' = 1, 'recognition' = 2, 'silent_device' = 3)",
        "site_id": "Nullable(String)",
        "expected_presses": "Nullable(Float64)",
    },
    "alert_actions": {
        "action_id": "UUID",
        "alert_id": "UUID",
        "action": "Enum8('ack' = 1, 'comment' = 2, 'close' = 3)",
        "by": "String",
        "comment": "Nullable(String)",
        "at": "DateTime64(3, 'UTC')",
    },
}


def _columns(client: Client, database: str, table: str) -> dict[str, str]:
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
        parameters={"db": database, "t": table},
    ).result_rows
    return {str(name): str(kind) for name, kind in rows}


def test_migrations_create_the_contract_tables(
    clickhouse_settings: Settings, clickhouse_client: Client
) -> None:
    db = clickhouse_settings.clickhouse_database
    for table, expected in EXPECTED_COLUMNS.items():
        columns = _columns(clickhouse_client, db, table)
        assert {name: columns.get(name) for name in expected} == expected, table
    rows = clickhouse_client.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {db:String}",
        parameters={"db": db},
    ).result_rows
    engines = {str(name): str(engine) for name, engine in rows}
    for table in EXPECTED_COLUMNS:
        assert engines[table].startswith("ReplacingMergeTree"), engines[table]
        assert "non_replicated_deduplication_window = 1000" in engines[table]
    # 0006: one row per event, the earliest delivery wins (tests/integration/test_first_verdict.py)
    assert "ReplacingMergeTree(first_delivery)" in engines["presses"]
    assert "ORDER BY event_id SETTINGS" in engines["presses"]
    recorded = clickhouse_client.query(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    ).result_rows
    assert recorded == [(m.version, m.name, m.checksum) for m in discover_migrations()]


def test_rerun_is_a_no_op(clickhouse_settings: Settings, clickhouse_client: Client) -> None:
    before = clickhouse_client.query("SELECT * FROM schema_migrations ORDER BY version").result_rows
    report = migrate(clickhouse_settings)
    assert report.applied == []
    assert [m.version for m in report.skipped] == [m.version for m in discover_migrations()]
    after = clickhouse_client.query("SELECT * FROM schema_migrations ORDER BY version").result_rows
    assert after == before


def test_a_new_migration_is_applied_after_the_recorded_ones(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    (folder / "0999_extra.sql").write_text(
        "CREATE TABLE IF NOT EXISTS extra (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
        "ALTER TABLE extra ADD COLUMN IF NOT EXISTS y String;\n"
    )
    report = migrate(clickhouse_settings, directory=folder)
    assert [m.name for m in report.applied] == ["extra"]
    db = clickhouse_settings.clickhouse_database
    assert _columns(clickhouse_client, db, "extra") == {"x": "UInt8", "y": "String"}


def test_an_edited_applied_migration_is_refused(
    clickhouse_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    target = folder / "0002_scores.sql"
    target.write_text(target.read_text() + "\n-- harmless looking edit\n")
    with pytest.raises(MigrationChecksumError, match=r"0002_scores\.sql was changed"):
        migrate(clickhouse_settings, directory=folder)


def test_insert_deduplication_token_really_dedups_on_chdb(clickhouse_client: Client) -> None:
    # Merges could hide a second copy: stop them so count() sees every part as written.
    clickhouse_client.command("SYSTEM STOP MERGES alerts")
    row = [
        "6f1c2a52-3b1e-4f0e-9d7e-0a0c2b9d1e11",
        "opened",
        "department",
        "dep-1",
        "dep-1",
        "threshold",
        41.0,
        5,
        50.0,
    ]
    when = [_utc(2026, 3, 1, 10, 0), _utc(2026, 3, 1, 10, 15), _utc(2026, 3, 1, 10, 15)]
    columns = [
        "alert_id",
        "state",
        "scope",
        "scope_id",
        "department_id",
        "mode",
        "score",
        "n",
        "threshold",
        "window_start",
        "window_end",
        "at",
    ]
    for _ in range(2):
        clickhouse_client.insert(
            "alerts",
            [row + when],
            column_names=columns,
            settings={"insert_deduplication_token": "alerts.all:0:7-7"},
        )
    assert clickhouse_client.query("SELECT count() FROM alerts").result_rows == [(1,)]
    clickhouse_client.insert(
        "alerts",
        [row + when],
        column_names=columns,
        settings={"insert_deduplication_token": "alerts.all:0:8-8"},
    )
    # A different token is a different batch: stored (and collapsed only by FINAL/merges).
    assert clickhouse_client.query("SELECT count() FROM alerts").result_rows == [(2,)]
    assert clickhouse_client.query("SELECT count() FROM alerts FINAL").result_rows == [(1,)]


def test_a_second_chdb_path_in_this_process_is_refused(
    clickhouse_settings: Settings, tmp_path: Path
) -> None:
    other = Settings(clickhouse_dsn=f"chdb://{tmp_path / 'other'}")
    with pytest.raises(EnginePathConflictError, match="one path per process"):
        create_client(other)


def test_same_path_and_database_share_one_client(clickhouse_settings: Settings) -> None:
    assert create_client(clickhouse_settings) is create_client(clickhouse_settings)


def test_migrations_survive_a_fresh_process(tmp_path: Path) -> None:
    # This process holds its own session path, so both sides run in subprocesses.
    env = {"CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}"}
    first = run_civicpulse("db", "migrate", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    count = len(discover_migrations())
    assert re.search(rf"{count} applied, 0 already there", first.stdout), first.stdout
    second = run_civicpulse("db", "status", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    for migration in discover_migrations():
        assert re.search(rf"{migration.version:04d}\s.*{migration.name}\s.*applied", second.stdout)
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "chdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    tables, checksums = probe.stdout.strip().splitlines()
    assert {"alerts", "presses", "schema_migrations", "scores"} <= set(tables.split(","))
    assert checksums == ",".join(m.checksum for m in discover_migrations())


_PROBE = """
import sys
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
c = create_client(Settings(clickhouse_dsn="chdb://" + sys.argv[1]))
print(",".join(r[0] for r in c.query("SELECT name FROM system.tables WHERE database = "
      "'civicpulse' ORDER BY name").result_rows))
print(",".join(r[0] for r in c.query("SELECT checksum FROM schema_migrations "
      "ORDER BY version").result_rows))
"""


def test_status_reports_a_tampered_checksum_in_a_fresh_process(tmp_path: Path) -> None:
    env = {"CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}"}
    assert run_civicpulse("db", "migrate", env=env).returncode == 0
    tamper = subprocess.run(
        [sys.executable, "-c", _TAMPER, str(tmp_path / "chdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tamper.returncode == 0, tamper.stderr
    status = run_civicpulse("db", "status", env=env)
    assert status.returncode == 1
    assert re.search(r"0001\s.*presses\s.*changed since applied", status.stdout), status.stdout
    again = run_civicpulse("db", "migrate", env=env)
    assert again.returncode == 1
    assert "0001_presses.sql was changed after it was applied" in again.stdout.replace("\n", " ")


_TAMPER = f"""
import sys
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
c = create_client(Settings(clickhouse_dsn="chdb://" + sys.argv[1]))
c.command("ALTER TABLE schema_migrations UPDATE checksum = '{hashlib.sha256(b"x").hexdigest()}' "
          "WHERE version = 1 SETTINGS mutations_sync = 1")
"""


def test_a_held_path_names_the_holding_process(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        result = run_civicpulse(
            "db", "migrate", env={"CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{path}"}
        )
        assert time.monotonic() - started < 60
        out = " ".join(result.stdout.split())
        assert result.returncode == 1, out
        assert f"in use by another process (PID {holder.pid}," in out
        assert "civicpulse up" in out
    finally:
        holder.terminate()
        holder.wait(timeout=30)


_HOLD = """
import sys, time
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
create_client(Settings(clickhouse_dsn="chdb://" + sys.argv[1]), database="default")
print("ready", flush=True)
time.sleep(120)
"""


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
