"""Cursors and time ranges of the query API, without a server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.api.query.params import decode_cursor, encode_cursor, time_range

_moment = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)
).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))


@given(_moment, st.uuids())
def test_cursor_round_trip(moment: datetime, event_id: uuid.UUID) -> None:
    text = encode_cursor("presses", (moment, str(event_id)))
    assert decode_cursor(text, "presses", (datetime, uuid.UUID)) == (moment, str(event_id))


@pytest.mark.parametrize(
    "text",
    [
        "%%%",
        encode_cursor("alerts", ("x",)),  # another endpoint's cursor
        encode_cursor("presses", ("not a time", str(uuid.uuid4()))),
        encode_cursor("presses", ("2026-01-01T00:00:00Z", "not-a-uuid")),
        encode_cursor("presses", ("2026-01-01T00:00:00", str(uuid.uuid4()))),  # naive
        encode_cursor("presses", ("9999-12-31T23:59:59Z", str(uuid.uuid4()))),
    ],
)
def test_bad_cursors_are_validation_errors(text: str) -> None:
    with pytest.raises(RequestValidationError):
        decode_cursor(text, "presses", (datetime, uuid.UUID))


def test_range_limits() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert time_range(start, start + timedelta(days=366)).end == start + timedelta(days=366)
    for end in (start, start - timedelta(seconds=1), start + timedelta(days=366, milliseconds=1)):
        with pytest.raises(RequestValidationError):
            time_range(start, end)
