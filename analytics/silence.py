"""Silent devices, the pure part: is a terminal or kiosk quiet when it usually is not?

A device is *silent* at ``now`` when it sent nothing for ``after`` (its last press is at or
before ``now - after``) while, on at least ``min_weeks`` of the ``weeks`` previous weeks, it did
send presses in the same local span ``[now - after, now)`` (same weekday, same wall-clock time in
the city zone, so DST does not shift a desk's hours). "It pressed then" is how the detector
knows the desk is open: catalogue opening hours, when a site has them, must also say open at
both ends of the span (a desk that closed early today is not broken). One alert per silence: its
id is derived from the device and its last press, so a second check, a restart or two checkers
make the same event. It resolves on the device's next press.

The wiring (queries, producing the events, the periodic thread) is :mod:`.silent_watch`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from civicpulse.schemas.events import AlertEvent, format_utc

__all__ = [
    "DeviceActivity",
    "SilenceRules",
    "back_event",
    "reference_spans",
    "silent_event",
]

_NAMESPACE = uuid.UUID("0f5b8d1e-2c47-4a0b-b6f3-9e8d7c6b5a41")


@dataclass(frozen=True, slots=True)
class SilenceRules:
    """When a quiet device is silent: quiet for ``after`` while on ``min_weeks`` of the
    ``weeks`` previous weeks it pressed in the same span."""

    after: timedelta = timedelta(minutes=30)
    weeks: int = 3
    min_weeks: int = 2

    def __post_init__(self) -> None:
        if self.after <= timedelta(0):
            raise ValueError("the silence limit must be longer than zero")
        if not 1 <= self.min_weeks <= self.weeks:
            raise ValueError("need 1 <= min_weeks <= weeks")


def reference_spans(
    now: datetime, zone: tzinfo, rules: SilenceRules
) -> list[tuple[datetime, datetime]]:
    """``[now - after, now)`` on each of the previous ``weeks`` weeks, same local wall clock."""
    local = now.astimezone(zone)
    spans = []
    for k in range(1, rules.weeks + 1):
        # Arithmetic on an aware datetime keeps its wall clock (same zone); astimezone then
        # reads that week's offset, so a span a DST change ago is the same local time.
        end = (local - timedelta(weeks=k)).astimezone(UTC)
        spans.append((end - rules.after, end))
    return spans


@dataclass(frozen=True, slots=True)
class DeviceActivity:
    """What the store knows of one terminal device at ``now``."""

    device_id: str
    site_id: str | None
    department_id: str
    last_press: datetime
    weekly: Sequence[int]
    """presses in each span of :func:`reference_spans`, most recent week first"""


def silent_event(
    device: DeviceActivity, now: datetime, rules: SilenceRules, *, open_now: bool | None = None
) -> AlertEvent | None:
    """The ``silent_device`` opening for ``device`` at ``now``, or None when it is not silent.

    ``open_now`` is the catalogue's word on the site's opening hours over the silent span (None
    when the catalogue has none): False means closed, so quiet is expected.
    """
    if open_now is False or device.last_press > now - rules.after:
        return None
    active = [count for count in device.weekly[: rules.weeks] if count > 0]
    if len(active) < rules.min_weeks:
        return None
    expected = sum(device.weekly[: rules.weeks]) / rules.weeks
    key = f"silent:{device.device_id}:{format_utc(device.last_press)}"
    return AlertEvent(
        alert_id=uuid.uuid5(_NAMESPACE, key),
        state="opened",
        kind="silent_device",
        scope="device",
        scope_id=device.device_id,
        department_id=device.department_id,
        site_id=device.site_id,
        mode="threshold",
        score=0.0,
        n=0,
        threshold=rules.after.total_seconds() / 60,
        expected_presses=expected,
        window_start=device.last_press,
        window_end=now,
        at=now,
    )


def back_event(opened: AlertEvent, first_press_after: datetime | None) -> AlertEvent | None:
    """The ``resolved`` event of an open silent-device alert once the device pressed again
    (``first_press_after``: its first press after the alert's ``window_start``), else None."""
    if first_press_after is None or first_press_after <= opened.window_start:
        return None
    return opened.model_copy(update={"state": "resolved", "at": first_press_after})
