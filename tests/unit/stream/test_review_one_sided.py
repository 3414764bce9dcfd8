"""One-sided hours (analytics/review/patterns.py): a web widget against its department's desks.

A web widget is on all night; its department's desks open in the morning. When the department's
service degrades, the widget's night hours must not make its turn look sudden against desks
whose own hours hold no night: the widget is judged over the hours its neighbours had presses.
"""

from __future__ import annotations

from civicpulse.analytics.review.periods import ScanPress, scan
from civicpulse.schemas.events import Channel

from .test_review import MIN, T0

HOUR = 60 * MIN


def _hours(device: str, channel: Channel, first: int, unhappy: list[float], per_hour: int) -> list[
        ScanPress]:  # fmt: skip
    """``per_hour`` presses evenly spread over each hour from ``first``, the given share of
    them unhappy (2), the rest happy (4)."""
    out: list[ScanPress] = []
    for h, share in enumerate(unhappy):
        bad = round(share * per_hour)
        for i in range(per_hour):
            at = first + h * HOUR + i * HOUR // per_hour
            out.append(ScanPress(f"{device}-{h}-{i}", device, channel, "s1", "d1", at,
                                 2 if i < bad else 4))  # fmt: skip
    return out


def _one_sided(web_unhappy: list[float], desks_unhappy: list[float]) -> list[str]:
    """One-sided hours found: a web widget from T0 (hour by hour), three desks of the same site
    and department from T0 + 4 h."""
    opening = T0 + 4 * HOUR
    desks = [p for n in (1, 2, 3)
             for p in _hours(f"desk-{n}", "terminal", opening, desks_unhappy, 40)]  # fmt: skip
    web = _hours("web-1", "web", T0, web_unhappy, 150)
    return [f"{s.device_id} {s.from_ms}" for s in scan(desks + web)
            if s.pattern == "one_sided_hour"]  # fmt: skip


def test_a_web_widget_turning_with_its_department_is_not_singled_out_by_its_night() -> None:
    # three happy night hours; from the desks' opening the department degrades step by step,
    # the widget a little ahead of the desks (flagged when its night counted as usual)
    web = [0.1, 0.1, 0.1, 0.1, 0.7, 0.95, *[0.94] * 4]
    assert _one_sided(web, [0.5, 0.68, *[0.9] * 4]) == []


def test_a_web_widget_turning_alone_still_is() -> None:
    # the widget unhappy for one hour while the desks stay as they were
    web = [0.1] * 10
    web[5] = 0.95
    assert _one_sided(web, [0.1] * 6) == [f"web-1 {T0 + 5 * HOUR}"]
