"""Patterns ``one_sided_hour`` and ``outside_hours`` (the run pattern: :mod:`.review_run`).

``one_sided_hour``: in one clock hour (UTC hours, which are local hours in every whole-hour
zone) at least ``one_sided_min_presses`` presses of which ``one_sided_share`` or more are on one
side (3-4 happy, 1-2 unhappy), where the device's own hours within ``one_sided_context`` of it
(pulled toward its neighbours' mix; only the hours in which those neighbours had presses, so a
web widget's night, when its desks are closed, is not what it is compared with) make that at
most ``one_sided_probability`` likely (binomial), and its
neighbours at the same site (else its department; any channel: a worse service shows on the
desks and on the web page alike), judged against their own hours within the same
``one_sided_context``, did not move the same way by more than ``neighbour_max_shift`` (nor by
so much that the device moved less than ``one_sided_min_shift`` beyond them): a department
whose service really worsens moves every desk together. Without neighbours that had presses
that hour (a web widget at 07:00, when every desk is closed) nothing is flagged: a device's
own change cannot be told from its department's.
The hour's share of that side must also exceed the usual share by ``one_sided_min_shift``:
with hundreds of presses an hour a small drift is "significant" without being sudden.

``outside_hours``: presses while the site is closed by its catalogue ``opening_hours``, with
``hours_grace`` before opening and after closing (the last citizen of the day); presses less
than ``hours_max_gap`` apart form one period, reported from ``hours_min_presses`` presses.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from civicpulse.analytics.review.periods import DeviceHistory, SiteContext, Suspect
from civicpulse.analytics.review.rules import ReviewRules
from civicpulse.analytics.review.stats import binomial_tail
from civicpulse.analytics.review.words import chance, clock, duration, share
from civicpulse.schemas.catalogue import WEEKDAYS, OpeningHours

__all__ = ["one_sided_hours", "outside_hours"]

_HOUR = 3_600_000
_MS = timedelta(milliseconds=1)
_MIN_NEIGHBOUR_PRESSES = 5


def _hourly(device: DeviceHistory) -> dict[int, tuple[int, int]]:
    """hour -> (presses, happy presses)."""
    total: Counter[int] = Counter()
    happy: Counter[int] = Counter()
    for t, b in zip(device.times, device.buttons, strict=True):
        total[t // _HOUR] += 1
        happy[t // _HOUR] += b >= 3
    return {h: (total[h], happy[h]) for h in total}


def _happy(device: DeviceHistory) -> int:
    return device.counts[3] + device.counts[4]


_Hourly = dict[str, dict[int, tuple[int, int]]]


def _pooled(devices: list[DeviceHistory], cache: _Hourly) -> dict[int, tuple[int, int]]:
    """hour -> (presses, happy presses) of several devices together."""
    pooled: dict[int, tuple[int, int]] = {}
    for device in devices:
        hourly = cache.get(device.device_id)
        if hourly is None:
            hourly = cache[device.device_id] = _hourly(device)
        for hour, (n, h) in hourly.items():
            n0, h0 = pooled.get(hour, (0, 0))
            pooled[hour] = (n0 + n, h0 + h)
    return pooled


def _neighbour_shift(
    pooled: dict[int, tuple[int, int]], hour: int, shared: list[int]
) -> tuple[float | None, int]:
    """How far the neighbours' happy share moved in ``hour`` from their share over the
    ``shared`` hours around it: the same hours the device itself is judged against, so a
    department that changes during the day (a degradation at 10:00) moves device and
    neighbours alike."""
    n_hour, happy_hour = pooled.get(hour, (0, 0))
    n_out = sum(pooled[h][0] for h in shared)
    happy_out = sum(pooled[h][1] for h in shared)
    if n_hour < _MIN_NEIGHBOUR_PRESSES or n_out == 0:
        return None, n_hour
    return happy_hour / n_hour - happy_out / n_out, n_hour


def _compared(
    device: DeviceHistory, context: SiteContext, hour: int, reach: int, cache: _Hourly
) -> tuple[str, dict[int, tuple[int, int]], list[int]] | None:
    """Whom the device is compared with in ``hour`` (neighbours at its site, else the other
    devices of its department, with at least 5 presses that hour), their hours, and the hours
    within ``reach`` of it in which they had presses: the device's usual mix is learnt over
    those hours only. A web widget is on all night while its department's desks are closed; its
    night hours would make a degradation look sudden on the widget and not on the desks."""
    site = [d for d in context.by_site[device.site_id] if d is not device]
    department = [d for d in context.by_department[device.department_id] if d is not device]
    for whom, devices in (("neighbours at the same site", site),
                          ("other devices of the department", department)):  # fmt: skip
        pooled = _pooled(devices, cache)
        shared = [h for h in range(hour - reach, hour + reach + 1) if h != hour and h in pooled]
        if pooled.get(hour, (0, 0))[0] >= _MIN_NEIGHBOUR_PRESSES and shared:
            return whom, pooled, shared
    return None


def one_sided_hours(
    device: DeviceHistory, context: SiteContext, rules: ReviewRules, timezone: str = "UTC"
) -> list[Suspect]:
    """Every one-sided hour of one device; clock times in the evidence in ``timezone``."""
    zone = ZoneInfo(timezone)
    found: list[Suspect] = []
    cache: _Hourly = {}
    prior_mix = context.prior_mix(device)
    prior_happy = prior_mix[3] + prior_mix[4]
    hourly = _hourly(device)
    reach = rules.one_sided_context // timedelta(hours=1)
    for hour, (n, happy) in sorted(hourly.items()):
        if n < rules.one_sided_min_presses:
            continue
        compared = _compared(device, context, hour, reach, cache)
        if compared is None:
            continue  # nobody to compare with: a department's real change would look the same
        whom, pooled, shared = compared
        # the device's own hours around this one (those its neighbours had presses in): "usual"
        # is what it did shortly before/after, over the hours the neighbours are judged on
        near = [hourly[h] for h in shared if h in hourly]
        n_out, happy_out = sum(x[0] for x in near), sum(x[1] for x in near)
        usual = (happy_out + rules.mix_prior * prior_happy) / (n_out + rules.mix_prior)
        if happy >= rules.one_sided_share * n:
            side, k, p = "happy (3-4)", happy, usual
        elif n - happy >= rules.one_sided_share * n:
            side, k, p = "unhappy (1-2)", n - happy, 1 - usual
        else:
            continue
        if k / n - p < rules.one_sided_min_shift:
            continue  # as one-sided as the device usually is: nothing sudden
        p_side = binomial_tail(k, n, p)
        if p_side > rules.one_sided_probability:
            continue
        shift, seen = _neighbour_shift(pooled, hour, shared)
        if shift is None:
            continue
        toward = shift if side.startswith("happy") else -shift
        if toward > rules.neighbour_max_shift or k / n - p - toward < rules.one_sided_min_shift:
            continue  # the neighbours moved the same way: a real change, not this device
        inside = [t for t in device.times if t // _HOUR == hour]
        moved = (
            f"its {whom} ({seen} presses that hour) moved {100 * toward:+.0f} points that way "
            f"against their own hours around it"
        )
        evidence = (
            f"{k} of {n} presses {side} between {clock(inside[0], zone)} and "
            f"{clock(inside[-1], zone)} city time, "
            f"against {share(p, 1)} usually on this device; chance of {k} or more of {n} under "
            f"its usual mix: {chance(p_side)}; {moved}."
        )
        found.append(
            Suspect(
                device_id=device.device_id,
                pattern="one_sided_hour",
                from_ms=inside[0],
                to_ms=inside[-1],
                presses=n,
                evidence=evidence,
                site_id=device.site_id,
                figures={
                    "side": side.split()[0],
                    "side_presses": k,
                    "usual_share": round(p, 4),
                    "p_side": p_side,
                    "neighbour_shift": round(toward, 4),
                    "neighbour_presses": seen,
                },
            )
        )
    return found


def _open_around(hours: OpeningHours, local: datetime, grace: int) -> bool:
    minute = local.hour * 60 + local.minute + local.second / 60
    return any(a - grace <= minute < b + grace for a, b in hours.spans(local.weekday()))


def outside_hours(
    device: DeviceHistory, hours: OpeningHours, rules: ReviewRules, timezone: str
) -> list[Suspect]:
    zone = hours.zone(timezone)
    grace = rules.hours_grace / timedelta(minutes=1)
    max_gap = rules.hours_max_gap // _MS
    groups: list[list[int]] = []
    for t in device.times:
        local = datetime.fromtimestamp(t / 1000, zone)
        if _open_around(hours, local, int(grace)):
            continue
        if groups and t - groups[-1][-1] <= max_gap:
            groups[-1].append(t)
        else:
            groups.append([t])
    found: list[Suspect] = []
    for group in groups:
        if len(group) < rules.hours_min_presses:
            continue
        first = datetime.fromtimestamp(group[0] / 1000, zone)
        spans = getattr(hours, WEEKDAYS[first.weekday()])
        opening = ", ".join(spans) if spans else "closed all day"
        gaps = [b - a for a, b in pairwise(group)]
        evidence = (
            f"{len(group)} presses between {clock(group[0], zone)} and {clock(group[-1], zone)} "
            f"local time on {first:%A %Y-%m-%d}, while the site is closed (hours that day: "
            f"{opening}; {duration(rules.hours_grace // _MS)} of grace each side); "
            f"median gap {duration(sorted(gaps)[len(gaps) // 2])}."
        )
        found.append(
            Suspect(
                device_id=device.device_id,
                pattern="outside_hours",
                from_ms=group[0],
                to_ms=group[-1],
                presses=len(group),
                evidence=evidence,
                site_id=device.site_id,
                figures={"opening_hours": opening, "timezone": str(zone)},
            )
        )
    return found
