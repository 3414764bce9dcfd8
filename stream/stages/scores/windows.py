"""Event-time window ranges as pure functions; every window is a UTC ``[start, end)``.

* ``15m``: rolling 15 minutes hopping by 1 minute, aligned to the epoch minute (a press belongs
  to 15 of them);
* ``1h``: the local clock hour in the city time zone (equal to the UTC hour wherever the offset
  is a whole number of hours); the repeated hour of a DST fall-back is two distinct windows;
* ``1d``: the local calendar day in the city time zone, 23 or 25 hours long on DST days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from civicpulse.stream.stages.scores.formula import WindowName

__all__ = [
    "HOP",
    "ROLLING",
    "Window",
    "day_window",
    "hour_window",
    "rolling_windows",
    "windows_of",
]

ROLLING = timedelta(minutes=15)
HOP = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, order=True)
class Window:
    start: datetime
    end: datetime
    name: WindowName

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def rolling_windows(
    moment: datetime, size: timedelta = ROLLING, hop: timedelta = HOP
) -> list[Window]:
    """The hopping windows ``[s, s + size)``, ``s`` a multiple of ``hop``, that hold ``moment``."""
    if size % hop:
        raise ValueError("the window size must be a whole number of hops")
    last = moment - (moment - _EPOCH) % hop
    return [
        Window(start, start + size, "15m")
        for start in (last - k * hop for k in range(size // hop - 1, -1, -1))
    ]


def hour_window(moment: datetime, zone: tzinfo) -> Window:
    local = moment.astimezone(zone)
    # replace() keeps the fold, so the repeated fall-back hour maps to its own UTC hour.
    start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return Window(start, start + timedelta(hours=1), "1h")


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_window(moment: datetime, zone: tzinfo) -> Window:
    """The local calendar day holding ``moment``, as UTC ``[midnight, next midnight)``."""
    day = moment.astimezone(zone).date()
    return Window(_midnight(day, zone), _midnight(day + timedelta(days=1), zone), "1d")


def windows_of(moment: datetime, zone: tzinfo) -> list[Window]:
    """Every window a press at ``moment`` is scored in: 15 rolling, one hour, one day."""
    return [*rolling_windows(moment), hour_window(moment, zone), day_window(moment, zone)]
