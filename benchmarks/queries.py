"""Dashboard queries over a generated year of a large city: rollups vs a raw scan; year export.

A year of presses (20 M at 300 sites full size; ``--quick`` 1 M at 15 sites) is generated
directly in ClickHouse (``INSERT ... SELECT FROM numbers()``, month by month so the rollups'
materialized views run as they do under the sink) into a temporary chDB path through the
project's client factory. Then:

* each dashboard figure of :mod:`civicpulse.analytics.queries` (site scores per local day, heat map,
  department trend per month, site totals) over the whole year: p50/p95 of the rollup form vs
  the raw scan of ``presses FINAL`` (same rows, checked) — targets p95 < 100 ms, >= 20x faster;
* each query API endpoint (``/v1/...``, through the HTTP stack in-process): p95 against the same
  run's raw scan of the year — target p95 < 100 ms;
* ``civicpulse export``'s code path for the year to Parquet vs ClickHouse's own
  ``SELECT ... INTO OUTFILE ... FORMAT Parquet`` of the same rows — target within 2x.

Run: ``.venv/bin/python benchmarks/queries.py [--quick]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.api_queries import api_figures, load_scores_and_alerts
from benchmarks.common import Figure, parser, percentile, report, stopwatch
from civicpulse.analytics import queries
from civicpulse.analytics.export import ExportRequest, export
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import close_clients, create_client
from civicpulse.sink.migrate import migrate

TZ = "Europe/Warsaw"
YEAR_START = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)  # 2026-01-01 00:00 local
YEAR_END = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
DEPARTMENTS, QUESTIONS = 40, 20

# One press a row: 2 devices per site; site quality skews the buttons; presses fall in opening
# hours (07-18 local, busier mid-morning); 12 % are rejected by anti-spam; 5 % of devices ask
# the employee-mood question; 1 in 10 terminals has no question scheduled.
_GENERATE = """
INSERT INTO presses (event_id, channel, device_id, button, pressed_at, received_at, visitor,
                     reason, lang, verdict, site_id, department_id, question_id, question_kind)
SELECT generateUUIDv4(number) AS event_id,
       if(device % 7 = 0, 'web', 'terminal') AS channel,
       concat('dev-', toString(device)) AS device_id,
       toUInt8(least(4, greatest(1, 1 + (h % 4 + site % 3 + h % 5) % 5))) AS button,
       toDateTime64(toDateTime(toDate('2026-01-01') + day, {tz:String}), 3, 'UTC')
         + toIntervalSecond(arrayElement([7,8,9,9,10,10,10,11,11,12,13,14,14,15,16,17],
                                         h % 16 + 1) * 3600 + (h % 3599))
         + toIntervalMillisecond(h % 1000) AS pressed_at,
       pressed_at + toIntervalSecond(1) AS received_at,
       if(channel = 'web', hex(cityHash64(number % 50000, day)), NULL) AS visitor,
       NULL AS reason, 'pl' AS lang,
       arrayElement(['counted','counted','counted','counted','counted','counted','counted',
                     'repeat','counted','burst','counted','duplicate','counted','counted',
                     'counted','counted','counted','counted','counted','clock_skew',
                     'counted','counted','counted','counted','counted'], h % 25 + 1) AS verdict,
       concat('site-', toString(site)) AS site_id,
       concat('dep-', toString(site % {departments:UInt32})) AS department_id,
       multiIf(device % 20 = 1, 'q-employee', device % 10 = 3, NULL,
               concat('q-', toString(site % {questions:UInt32}))) AS question_id,
       multiIf(device % 20 = 1, 'employee', device % 10 = 3, NULL, 'citizen') AS question_kind
FROM (
    SELECT number, cityHash64(number) AS h, intDiv(number * 365, {total:UInt64}) AS day,
           (h % ({sites:UInt32} * 2)) AS device, intDiv(device, 2) AS site
    FROM numbers({first:UInt64}, {count:UInt64})
)
"""

_EXPORT_SELECT = """
SELECT toString(event_id) AS event_id, CAST(channel, 'String') AS channel, device_id, button,
       pressed_at, received_at, visitor, reason, lang, CAST(verdict, 'String') AS verdict,
       site_id, department_id, question_id, CAST(question_kind, 'Nullable(String)') AS question_kind
FROM presses FINAL
WHERE pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
  AND verdict = 'counted'
"""


def generate(client: Any, total: int, sites: int) -> float:
    with stopwatch() as watch:
        months = 12
        for month in range(months):
            first, last = total * month // months, total * (month + 1) // months
            client.command(
                _GENERATE,
                parameters={
                    "tz": TZ,
                    "total": total,
                    "first": first,
                    "count": last - first,
                    "sites": sites,
                    "departments": DEPARTMENTS,
                    "questions": QUESTIONS,
                },
            )
    return watch.seconds


def timed(
    client: Any, sql: str, params: dict[str, Any], runs: int, settings: dict[str, Any] | None = None
) -> tuple[list[float], Any]:
    samples, rows = [], None
    for _ in range(runs):
        start = time.perf_counter()
        rows = client.query(sql, parameters=params, settings=settings).result_rows
        samples.append((time.perf_counter() - start) * 1000)
    return samples, rows


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    # quick keeps the full run's presses per site-hour (what makes rollups pay) at 1/20 size
    total, sites = (1_000_000, 15) if args.quick else (20_000_000, 300)
    rollup_runs, raw_runs = (10, 2) if args.quick else (30, 3)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="civicpulse-bench-") as folder:
        settings = Settings(clickhouse_dsn=f"chdb://{folder}/chdb", clickhouse_database="bench")
        migrate(settings)
        client = create_client(settings)
        seconds = generate(client, total, sites)
        stored = client.query("SELECT count() FROM presses").result_rows[0][0]
        print(
            f"generated {stored} presses in {seconds:.1f} s ({stored / seconds:,.0f} rows/s, "
            "rollup views included)",
            flush=True,
        )
        params = {
            "start": YEAR_START,
            "end": YEAR_END,
            "tz": TZ,
            "kind": "citizen",
            "department": "",
            "site": "",
        }
        # the raw baseline at its best: the partition is a function of the FINAL key
        raw_settings = {"do_not_merge_across_partitions_select_final": 1}
        for name, figure, filters in (
            # a department's dashboard: its sites' scores per local day over the year
            ("site_daily", queries.SITE_DAILY, {"department": "dep-7"}),
            ("heatmap", queries.HEATMAP, {}),
            ("department_monthly", queries.DEPARTMENT_MONTHLY, {}),
            ("site_totals", queries.SITE_TOTALS, {}),
        ):
            bound = {**params, **filters}
            raw, raw_rows = timed(client, figure["raw"], bound, raw_runs, raw_settings)
            fast, fast_rows = timed(client, figure["rollup"], bound, rollup_runs)
            if fast_rows != raw_rows:
                raise SystemExit(f"{name}: rollup rows differ from the raw scan")
            p50, p95, raw_p50 = percentile(fast, 50), percentile(fast, 95), percentile(raw, 50)
            print(
                f"{name}: {len(fast_rows)} rows; rollup p50 {p50:.1f} ms p95 {p95:.1f} ms; "
                f"raw p50 {raw_p50:.0f} ms ({raw_p50 / p95:.0f}x)",
                flush=True,
            )
            figures.append(Figure(f"queries.{name}.p50", p50, "ms", "info", True, raw_p50))
            figures.append(
                Figure(
                    f"queries.{name}.p95",
                    p95,
                    "ms",
                    "p95<100ms and >=20x faster than raw",
                    p95 < 100 and raw_p50 / p95 >= 20,
                    raw_p50,
                )
            )
        # the API endpoints through the HTTP stack; baseline: the raw scan of the same run
        load_scores_and_alerts(client, TZ, YEAR_START, 2_000)
        raw_scan = next(f.baseline for f in figures if f.name == "queries.site_totals.p95")
        assert raw_scan is not None
        figures.extend(api_figures(settings, YEAR_START, YEAR_END, raw_scan, rollup_runs))
        out = Path(folder) / "year.parquet"
        with stopwatch() as ours:
            summary = export(client, ExportRequest(YEAR_START, YEAR_END, "parquet", out))
        native = Path(folder) / "native.parquet"
        with stopwatch() as theirs:
            client.command(
                _EXPORT_SELECT + f" INTO OUTFILE '{native}' FORMAT Parquet",
                parameters={"start": YEAR_START, "end": YEAR_END},
            )
        import pyarrow.parquet as pq

        native_rows = pq.ParquetFile(native).metadata.num_rows
        if native_rows != summary.rows["presses"]:
            raise SystemExit(f"export rows {summary.rows['presses']} != native {native_rows}")
        print(
            f"export: {native_rows} rows; civicpulse {ours.seconds:.2f} s "
            f"({out.stat().st_size / 1e6:.0f} MB), INTO OUTFILE {theirs.seconds:.2f} s "
            f"({native.stat().st_size / 1e6:.0f} MB)",
            flush=True,
        )
        figures.append(
            Figure(
                "queries.export_parquet",
                ours.seconds,
                "s",
                "within 2x of INTO OUTFILE",
                ours.seconds <= 2 * theirs.seconds,
                theirs.seconds,
            )
        )
        close_clients()
    report(figures)


if __name__ == "__main__":
    main()
