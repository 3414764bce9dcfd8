"""The hand-built wire form of a press equals pydantic's JSON dump of the contract model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.producers.kafka_producer import encode_press
from civicpulse.schemas.events import PressEvent

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(
    event_id=st.uuids(version=4),
    channel=st.sampled_from(["terminal", "web"]),
    device_id=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,20}\Z"),
    button=st.integers(min_value=1, max_value=4),
    pressed_at=moments,
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    reason=st.none() | st.text(min_size=1, max_size=64),
    lang=st.none() | st.sampled_from(["pl", "en", "en-GB"]),
    offset_hours=st.integers(min_value=-12, max_value=12),
)
def test_encode_press_equals_model_dump(
    event_id: object,
    channel: str,
    device_id: str,
    button: int,
    pressed_at: datetime,
    delay: timedelta,
    reason: str | None,
    lang: str | None,
    offset_hours: int,
) -> None:

    zone = timezone(timedelta(hours=offset_hours))
    event = PressEvent.model_validate(
        {
            "event_id": event_id,
            "channel": channel,
            "device_id": device_id,
            "button": button,
            "pressed_at": pressed_at.astimezone(zone),
            "received_at": pressed_at + delay,
            "visitor": "v" * 32 if channel == "web" else None,
            "reason": reason,
            "lang": lang,
        }
    )
    assert orjson.loads(encode_press(event)) == event.model_dump(mode="json", exclude_none=True)
