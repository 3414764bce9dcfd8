"""The sink's idempotent insert path against the real engine (no broker needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from civicpulse.sink.rows import ROUTES
from civicpulse.sink.writer import write_rows

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration

ACCEPTED = ROUTES["presses.accepted"]


def _press(i: int, **change: Any) -> tuple[Any, ...]:
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC) + timedelta(seconds=7 * i)
    fields: dict[str, Any] = {
        "event_id": uuid.UUID(int=i + 1),
        "channel": "terminal",
        "device_id": f"dev-{i % 5}",
        "button": 1 + i % 4,
        "pressed_at": at,
        "received_at": at + timedelta(milliseconds=300),
        "visitor": None,
        "reason": None,
        "lang": "pl",
        "verdict": "counted",
        "site_id": "town-hall-1",
        "department_id": "civil-registry",
        "question_id": "q-visit",
        "question_kind": "citizen",
    }
    fields.update(change)
    return tuple(fields[column] for column in ACCEPTED.columns)


def _counts(client: Client) -> tuple[int, int, int]:
    raw = client.query("SELECT count(), uniqExact(event_id) FROM presses").result_rows[0]
    final = client.query("SELECT count() FROM presses FINAL").result_rows[0][0]
    return int(raw[0]), int(raw[1]), int(final)


def test_the_same_batch_inserted_twice_is_stored_once(clickhouse_client: Client) -> None:
    # With merges stopped, a second copy would stay visible to count() without FINAL.
    clickhouse_client.command("SYSTEM STOP MERGES presses")
    rows = [_press(i) for i in range(1000)]
    token = "presses.accepted:2:100-1099"
    assert write_rows(clickhouse_client, ACCEPTED, rows, token) == []
    assert write_rows(clickhouse_client, ACCEPTED, rows, token) == []
    assert _counts(clickhouse_client) == (1000, 1000, 1000)


def test_a_redelivered_press_in_another_batch_counts_once_with_final(
    clickhouse_client: Client,
) -> None:
    clickhouse_client.command("SYSTEM STOP MERGES presses")
    rows = [_press(i) for i in range(10)]
    write_rows(clickhouse_client, ACCEPTED, rows, "presses.accepted:0:0-9")
    # the same presses again, batched differently after a crash: another token
    write_rows(clickhouse_client, ACCEPTED, rows[5:], "presses.accepted:0:5-14")
    assert _counts(clickhouse_client) == (15, 10, 10)


def test_a_duplicate_verdict_never_replaces_the_counted_press(clickhouse_client: Client) -> None:
    press = _press(1)
    duplicate = _press(1, verdict="duplicate", received_at=press[5] + timedelta(minutes=3))
    write_rows(clickhouse_client, ACCEPTED, [press], "a")
    write_rows(clickhouse_client, ROUTES["presses.rejected"], [duplicate], "b")
    clickhouse_client.command("OPTIMIZE TABLE presses FINAL")
    assert clickhouse_client.query("SELECT verdict FROM presses").result_rows == [("counted",)]


def test_rows_the_table_refuses_are_isolated_and_the_rest_stored(
    clickhouse_client: Client,
) -> None:
    rows = [_press(i) for i in range(20)]
    # Values only a buggy producer could send past validation: an unknown Enum (the driver
    # encodes it as 0, the table's CHECK refuses it) and a button out of range.
    rows[3] = _press(3, channel="kiosk")
    rows[17] = _press(17, button=9)
    refused = write_rows(clickhouse_client, ACCEPTED, rows, "presses.accepted:1:0-19")
    assert [index for index, _ in refused] == [3, 17]
    assert "known_channel" in refused[0][1]
    assert "button_range" in refused[1][1]
    assert _counts(clickhouse_client) == (18, 18, 18)
