"""The one duration parser: every form users write, exact to the microsecond, clear refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.schemas.durations import parse_duration
from civicpulse.schemas.exceptions import DurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", timedelta(seconds=5)),
        ("10m", timedelta(minutes=10)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("500ms", timedelta(milliseconds=500)),
        ("1h30m", timedelta(minutes=90)),
        (" 1h 30m ", timedelta(minutes=90)),
        ("1.5s", timedelta(milliseconds=1500)),
        ("0s", timedelta(0)),
    ],
)
def test_the_forms_users_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "s", "5 sec", "5x", "-5s", "5s trailing", "m5"])
def test_anything_else_is_refused_with_examples(text: str) -> None:
    with pytest.raises(DurationError, match="ms\\|s\\|m\\|h\\|d"):
        parse_duration(text)


def test_a_number_is_not_a_duration() -> None:
    with pytest.raises(DurationError, match="strings like"):
        parse_duration(5)


def test_a_duration_error_is_a_value_error_for_callers_that_expect_one() -> None:
    assert issubclass(DurationError, ValueError)


@given(st.integers(0, 10_000), st.integers(0, 59), st.integers(0, 999))
def test_parts_add_up(minutes: int, seconds: int, millis: int) -> None:
    text = f"{minutes}m{seconds}s{millis}ms"
    assert parse_duration(text) == timedelta(minutes=minutes, seconds=seconds, milliseconds=millis)
