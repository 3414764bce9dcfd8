"""What every query endpoint shares: the time range, the page size and the opaque cursor.

Range: ``from`` inclusive, ``to`` exclusive, ISO-8601 with a zone (a naive moment is ambiguous
across DST and zones, so it is refused, not guessed), ``to`` after ``from`` and at most 366 days
later. Cursor: base64url of a JSON list ``[endpoint, *sort key of the last row]``; it is checked
on the way back in (endpoint, length, types), and anything else is a 422, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

__all__ = [
    "MAX_LIMIT",
    "MAX_RANGE",
    "Limit",
    "TimeRange",
    "decode_cursor",
    "encode_cursor",
    "invalid",
    "time_range",
    "utc_text",
]

MAX_RANGE = timedelta(days=366)
MAX_LIMIT = 10_000
# DateTime64(3) holds 1900..2299; the API serves the data's own era and refuses the rest.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT})")
]


def invalid(field: str, message: str, kind: str = "value_error") -> RequestValidationError:
    """A 422 in the app's error shape (``api.app._validation_error``) for a query parameter."""
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": kind}])


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime


def _to_utc(value: datetime, field: str) -> datetime:
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise invalid(field, f"{value.isoformat()} cannot be expressed in UTC") from exc
    if not _EARLIEST <= moment < _LATEST:
        raise invalid(field, "must lie between 1970-01-01 and 2200-01-01 (UTC)", "out_of_range")
    return moment


def time_range(
    from_: Annotated[
        AwareDatetime,
        Query(alias="from", description="start, inclusive; ISO-8601 with a zone"),
    ],
    to: Annotated[
        AwareDatetime, Query(description="end, exclusive; ISO-8601 with a zone, <= from + 366 d")
    ],
) -> TimeRange:
    start, end = _to_utc(from_, "from"), _to_utc(to, "to")
    if end <= start:
        raise invalid("to", f"must be after from ({start.isoformat()})", "range_empty")
    if end - start > MAX_RANGE:
        raise invalid(
            "to",
            f"the range spans {end - start}; at most 366 days per request (split it)",
            "range_too_long",
        )
    return TimeRange(start, end)


def utc_text(value: datetime) -> str:
    """Wire form of a stored moment (the driver may hand back naive UTC)."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str | int) else str(value)


def encode_cursor(endpoint: str, key: tuple[Any, ...]) -> str:
    raw = orjson.dumps([endpoint, *(_plain(part) for part in key)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parse(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return _to_utc(moment, "cursor")
    if kind is uuid.UUID:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(uuid.UUID(value))
    if kind is date:
        if not isinstance(value, str):
            raise ValueError(value)
        return date.fromisoformat(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(value)
    return value


def decode_cursor(
    text: str | None, endpoint: str, kinds: tuple[type, ...]
) -> tuple[Any, ...] | None:
    """The sort key a cursor of ``endpoint`` carries, or None for the first page (no cursor)."""
    if text is None or text == "":
        return None
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds) + 1 or raw[0] != endpoint:
            raise ValueError("shape")
        return tuple(_parse(value, kind) for value, kind in zip(raw[1:], kinds, strict=True))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, UnicodeError) as exc:
        raise invalid(
            "cursor", "not a cursor of this endpoint; pass next_cursor as returned", "cursor"
        ) from exc
