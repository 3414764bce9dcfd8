"""The stored verdict is the first verdict, and one event_id is one row (migration 0006).

Real chDB, rows written through the sink's own insert path (``write_rows``), read back with
FINAL before and after merges; the rollups of 0004/0005 must agree with the table.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import PRESSES_ACCEPTED, PRESSES_REJECTED
from civicpulse.sink.clickhouse import create_client
from civicpulse.sink.migrate import apply_migrations, discover_migrations
from civicpulse.sink.rows import ROUTES, press_row
from civicpulse.sink.writer import write_rows

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ACCEPTED, REJECTED = ROUTES[PRESSES_ACCEPTED.name], ROUTES[PRESSES_REJECTED.name]


def _press(event_id: str, verdict: str, *, pressed: datetime, received: datetime) -> JudgedPress:
    return JudgedPress.model_validate(
        {
            "event_id": event_id, "channel": "terminal", "device_id": "desk-1", "button": 2,
            "pressed_at": pressed, "received_at": received, "verdict": verdict,
            "site_id": "site-1", "department_id": "dep-1", "question_id": "q-service",
            "question_kind": "citizen",
        }
    )  # fmt: skip


def _sink(client: Client, press: JudgedPress) -> None:
    route = ACCEPTED if press.verdict == "counted" else REJECTED
    assert write_rows(client, route, [press_row(press)], f"test:{uuid.uuid4()}") == []


def _stored(client: Client, event_id: str) -> list[tuple[str, datetime]]:
    rows = client.query(
        "SELECT toString(verdict), pressed_at FROM presses FINAL WHERE event_id = {id:UUID}",
        parameters={"id": event_id},
    ).result_rows
    return [(str(v), p.replace(tzinfo=UTC)) for v, p in rows]


def _rollups_agree(client: Client) -> None:
    table = client.query(
        "SELECT toString(verdict), count() FROM presses FINAL WHERE verdict != 'duplicate' "
        "GROUP BY verdict ORDER BY 1"
    ).result_rows
    rollup = client.query(
        "SELECT toString(verdict), sum(presses) FROM press_verdicts_hourly "
        "GROUP BY verdict HAVING sum(presses) > 0 ORDER BY 1"
    ).result_rows
    assert [(v, int(n)) for v, n in rollup] == [(v, int(n)) for v, n in table]
    counted = client.query(
        "SELECT count() FROM presses FINAL WHERE verdict = 'counted'"
    ).result_rows[0][0]
    hourly = client.query("SELECT sum(n1 + n2 + n3 + n4) FROM presses_hourly").result_rows[0][0]
    assert int(hourly or 0) == int(counted)


@pytest.mark.parametrize("retry_sunk_first", [False, True])
def test_a_network_retry_keeps_the_first_delivery_verdict(
    clickhouse_client: Client, retry_sunk_first: bool
) -> None:
    event_id = str(uuid.uuid4())
    first = _press(event_id, "burst", pressed=T0, received=T0 + timedelta(seconds=1))
    retry = _press(event_id, "duplicate", pressed=T0, received=T0 + timedelta(seconds=4))
    for press in (retry, first) if retry_sunk_first else (first, retry):
        _sink(clickhouse_client, press)
    assert _stored(clickhouse_client, event_id) == [("burst", T0)]
    _rollups_agree(clickhouse_client)
    clickhouse_client.command("OPTIMIZE TABLE presses FINAL")
    assert _stored(clickhouse_client, event_id) == [("burst", T0)]
    assert (
        clickhouse_client.query(
            "SELECT count() FROM presses WHERE event_id = {id:UUID}", parameters={"id": event_id}
        ).result_rows[0][0]
        == 1
    )


def test_a_retry_in_the_same_batch_as_its_first_verdict_counts_once(
    clickhouse_client: Client,
) -> None:
    event_id = str(uuid.uuid4())
    first = _press(event_id, "repeat", pressed=T0, received=T0 + timedelta(seconds=1))
    retry = _press(event_id, "duplicate", pressed=T0, received=T0 + timedelta(seconds=2))
    rows = [press_row(first), press_row(retry)]
    assert write_rows(clickhouse_client, REJECTED, rows, f"test:{uuid.uuid4()}") == []
    assert _stored(clickhouse_client, event_id) == [("repeat", T0)]
    _rollups_agree(clickhouse_client)


def test_one_event_id_resent_with_another_pressed_at_is_one_row(clickhouse_client: Client) -> None:
    event_id = str(uuid.uuid4())
    first = _press(event_id, "counted", pressed=T0, received=T0 + timedelta(seconds=1))
    again = _press(
        event_id, "duplicate", pressed=T0 + timedelta(minutes=3), received=T0 + timedelta(minutes=4)
    )
    _sink(clickhouse_client, first)
    _sink(clickhouse_client, again)
    _sink(clickhouse_client, first)  # and the original re-delivered after a sink crash
    assert _stored(clickhouse_client, event_id) == [("counted", T0)]
    assert clickhouse_client.query(
        "SELECT uniqExact(event_id), count() FROM presses FINAL"
    ).result_rows[0] == (1, 1)
    _rollups_agree(clickhouse_client)


def test_0006_carries_the_existing_presses_over_and_rebuilds_the_rollups(
    clickhouse_settings: Settings,
) -> None:
    database = f"t_{uuid.uuid4().hex[:12]}"
    settings = clickhouse_settings.model_copy(update={"clickhouse_database": database})
    create_client(settings, database="default").command(f"CREATE DATABASE `{database}`")
    client = create_client(settings)
    try:
        migrations = discover_migrations()
        apply_migrations(client, [m for m in migrations if m.version <= 5], database)
        kept, retried = str(uuid.uuid4()), str(uuid.uuid4())
        _sink(client, _press(kept, "counted", pressed=T0, received=T0))
        _sink(client, _press(retried, "repeat", pressed=T0, received=T0))
        _sink(client, _press(retried, "duplicate", pressed=T0, received=T0 + timedelta(seconds=2)))
        report = apply_migrations(client, [m for m in migrations if m.version <= 6], database)
        assert [m.version for m in report.applied] == [6]
        assert _stored(client, kept) == [("counted", T0)]
        assert _stored(client, retried) == [("repeat", T0)]
        _rollups_agree(client)
        _sink(client, _press(str(uuid.uuid4()), "counted", pressed=T0, received=T0))
        _rollups_agree(client)  # the re-created views follow the new table
    finally:
        create_client(settings, database="default").command(f"DROP DATABASE `{database}`")
