"""`civicpulse export` against the real engine: Parquet round trip, CSV header, year limit."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from civicpulse.analytics.export import ExportError, ExportRequest, check_range, export, plan_chunks
from civicpulse.schemas.settings import Settings

from .data import DAY_END, DAY_START, TZ, insert_presses, insert_scores, make_presses, stream_scores

pytestmark = pytest.mark.integration

START = DAY_START - timedelta(days=1)
END = DAY_END + timedelta(days=1)


def _table_rows(client: Client, counted_only: bool) -> list[tuple[object, ...]]:
    where = "WHERE verdict = 'counted'" if counted_only else ""
    rows = client.query(
        "SELECT toString(event_id), CAST(channel, 'String'), device_id, button, pressed_at, "
        "received_at, visitor, reason, lang, CAST(verdict, 'String'), site_id, department_id,"
        f" question_id, CAST(question_kind, 'Nullable(String)') FROM presses FINAL {where}"
    ).result_rows
    return sorted(tuple(row) for row in rows)


def _file_rows(path: Path) -> list[tuple[object, ...]]:
    table = pq.read_table(path)
    out = []
    for row in table.to_pylist():
        values = list(row.values())
        # the driver returns naive UTC datetimes; Parquet's are aware
        values[4] = values[4].replace(tzinfo=None)
        values[5] = values[5].replace(tzinfo=None)
        out.append(tuple(values))
    return sorted(out)


@pytest.fixture
def loaded(clickhouse_client: Client) -> Client:
    presses = make_presses(count=700, seed=9)
    insert_presses(clickhouse_client, presses)
    insert_presses(clickhouse_client, presses[:100])  # re-delivered: exported once
    insert_scores(clickhouse_client, stream_scores(presses, DAY_START, DAY_END))
    return clickhouse_client


@pytest.mark.parametrize("include_rejected", [False, True])
def test_parquet_round_trip(loaded: Client, tmp_path: Path, include_rejected: bool) -> None:
    out = tmp_path / "year.parquet"
    request = ExportRequest(
        START, END, "parquet", out, include_rejected=include_rejected, scores=True, chunk_rows=97
    )
    progress: list[tuple[str, int, int]] = []
    summary = export(loaded, request, lambda *a: progress.append(a))
    assert _file_rows(out) == _table_rows(loaded, counted_only=not include_rejected)
    schema = pq.read_schema(out)
    assert schema.field("pressed_at").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("button").type == pa.uint8()
    assert pa.types.is_dictionary(schema.field("verdict").type)
    assert schema.field("event_id").type == pa.string()
    # 3 UTC days of data, each busier than chunk_rows: one chunk (row group) per day
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    assert progress[-1][0] == "scores" and progress[-1][1] == summary.rows["scores"]
    scores = pq.read_table(summary.files["scores"])
    stored = loaded.query("SELECT count() FROM scores FINAL").result_rows[0][0]
    assert scores.num_rows == stored == summary.rows["scores"]
    assert scores.schema.field("window_start").type == pa.timestamp("ms", tz="UTC")


def test_scope_filters_presses(loaded: Client, tmp_path: Path) -> None:
    out = tmp_path / "site.parquet"
    export(loaded, ExportRequest(START, END, "parquet", out, scope=("site", "site-c")))
    table = pq.read_table(out)
    assert set(table.column("site_id").to_pylist()) == {"site-c"}
    expected = loaded.query(
        "SELECT count() FROM presses FINAL WHERE site_id = 'site-c' AND verdict = 'counted'"
    ).result_rows[0][0]
    assert table.num_rows == expected > 0


def test_csv_has_a_header_and_every_row(
    clickhouse_settings: Settings, loaded: Client, tmp_path: Path
) -> None:
    from civicpulse.cli import app

    out = tmp_path / "year.csv"
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": clickhouse_settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": clickhouse_settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
    }
    args = ["export", "--from", "2026-03-01", "--to", "2026-04-01", "--format", "csv", str(out)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["event_id", "channel", "device_id", "button", "pressed_at"]
    assert len(rows) - 1 == len(_table_rows(loaded, counted_only=True))
    assert {row[9] for row in rows[1:]} == {"counted"}


def test_more_than_a_year_is_refused(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    check_range(start, datetime(2027, 1, 1, tzinfo=UTC))  # exactly one year: fine
    with pytest.raises(ExportError, match="one year per request"):
        check_range(start, datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC))
    from civicpulse.cli import app

    args = ["export", "--from", "2025-01-01", "--to", "2026-06-01", str(tmp_path / "x.csv")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "limited to one year per request" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_plan_chunks_bounds_rows() -> None:
    from datetime import date

    days = [(date(2026, 1, d), c) for d, c in [(1, 5), (2, 5), (3, 20), (4, 1)]]
    start, end = datetime(2026, 1, 1, 6, tzinfo=UTC), datetime(2026, 1, 4, 12, tzinfo=UTC)
    chunks = list(plan_chunks(days, start, end, chunk_rows=10))
    assert [c[2] for c in chunks] == [10, 20, 1]
    assert chunks[0][0] == start and chunks[-1][1] == end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
