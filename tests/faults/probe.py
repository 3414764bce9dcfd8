"""What ClickHouse holds after a fault run, read in a process of its own.

chDB lets one process open one path: the test process may already hold the session's engine,
so the run's own path is read here, in a subprocess, and the answer printed as JSON::

    python -m tests.faults.probe CHDB_PATH [CITY_TIMEZONE] [CITY_ID]
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from civicpulse.analytics.verify import stored_range, verify_scores
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client

__all__ = ["probe"]


def probe(path: str, tz: str = "Europe/Warsaw", city: str = "city") -> dict[str, Any]:
    """Row counts of ``presses`` (raw and FINAL), each stored verdict, and verify's verdict."""
    client = create_client(Settings(clickhouse_dsn=f"chdb://{path}"))
    raw, distinct = client.query("SELECT count(), uniqExact(event_id) FROM presses").result_rows[0]
    final, final_distinct = client.query(
        "SELECT count(), uniqExact(event_id) FROM presses FINAL"
    ).result_rows[0]
    rows = client.query("SELECT toString(event_id), toString(verdict) FROM presses FINAL")
    verdicts = {str(event_id): str(verdict) for event_id, verdict in rows.result_rows}
    span = stored_range(client, tz)
    result: dict[str, Any] = {
        "raw_rows": int(raw),
        "distinct": int(distinct),
        "final_rows": int(final),
        "final_distinct": int(final_distinct),
        "verdicts": verdicts,
        "verify_ok": False,
        "verify_compared": 0,
        "verify_mismatches": [],
    }
    if span is not None:
        checked = verify_scores(client, since=span[0], until=span[1], tz=tz, city_id=city)
        result["verify_ok"] = checked.ok
        result["verify_compared"] = checked.compared
        result["verify_counted"] = checked.counted
        result["verify_mismatches"] = [
            f"{m.problem} {m.scope}/{m.scope_id} {m.window} {m.window_start:%Y-%m-%dT%H:%M} "
            f"expected {m.expected} stored {m.stored}"
            for m in checked.mismatches[:10]
        ]
    return result


if __name__ == "__main__":
    sys.stdout.buffer.write(orjson.dumps(probe(*sys.argv[1:])))
