"""Pattern ``recurring_bursts``: short bursts of one button on one desk, again and again over a
city day (staff pressing a handful of times, 8-12 s apart, between citizens).

One burst alone looks like a short queue; several in a day are what no single period shows.

A burst of button b is a maximal sequence of the device's presses of b, each within
``burst_max_gap`` of the one before, at least ``burst_min_presses`` and at most
``burst_max_presses`` of them (longer is a desk's steady flow, or a run), the median gap at
least ``run_min_gap`` (a human pace, not a child) and b at least ``run_min_share`` of every
press between its first and last (a citizen may slip in). For each city day (``timezone``) and
button the scan compares the bursts seen with those expected:

* **the device's own day**: at each press of b, the chance that it starts a burst is
  ``q**(m-1) * (1-q)``, with ``m = burst_min_presses`` and ``q`` the share of the gaps between
  the device's presses of b around it (``burst_context`` on each side, the bursts' own presses
  left out) that are at most ``burst_max_gap``: the desk's own pace and mix, hour by hour. The
  sum over the day's presses of b is the expected count (of bursts of m presses or more: the
  ``burst_max_presses`` cap only makes it larger than the count it is compared with);
* **the site's other desks that day, and the device's other days**: the same sum against the
  bursts they really had. Where they had more than the model predicts (a regular queue makes
  short gaps come in runs), the expectation is raised by that factor. A reference whose bursts
  are suspect on their own is left out, unless most references are (``_reference``): one
  neighbour's staff bursts must not excuse this desk's.

The day's bursts of b are suspect when there are at least ``burst_min_count`` of them, at least
``burst_min_ratio`` times the (raised) expectation, and the Poisson chance of that many at that
expectation is at most ``burst_probability``. The ratio guards against the model itself: on a
desk with a queue all day, short gaps come in runs more often than independent gaps predict
(twice to three times as often on the simulator's busiest desks), which a chance alone, with
dozens of bursts, would call significant. Each
burst beyond the expectation is one period, from its first to its last press (the citizens
between bursts stay honest): of n bursts where mu were expected, the n - mu least likely on
their own (``q**(size-1)`` where each starts) are reported, so the bursts a busy desk makes by
chance on the same day are not.

Where that count finds nothing, the **rhythm test** (``_by_rhythm``): staff keep their own pace,
citizens come at a service time plus chance. Bursts of ``rhythm_min_presses`` or more whose gaps
are more even than gaps drawn from the desk's own short gaps of the button that day
(:func:`.review_stats.rhythm_chance` <= ``rhythm_chance``) are counted against
``rhythm_chance`` times the expected bursts of that length, with the same ratio and chance
guards; calibrated by construction, so it needs no guard of its own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from statistics import median
from zoneinfo import ZoneInfo

from civicpulse.analytics.review.periods import DeviceHistory, SiteContext, Suspect
from civicpulse.analytics.review.rules import ReviewRules
from civicpulse.analytics.review.runs import GROUPS, NAMES, SHORT
from civicpulse.analytics.review.stats import RHYTHM_MIN_POOL, poisson_tail, rhythm_chance
from civicpulse.analytics.review.words import chance, clock, duration

__all__ = ["Burst", "TallyCache", "find_bursts", "recurring_bursts"]

_MS = timedelta(milliseconds=1)
KEYS = (1, 2, 3, 4, 5, 6)


@dataclass(frozen=True, slots=True)
class Burst:
    """Presses ``first..last`` (indices into the device's history) holding ``size`` presses of
    one button."""

    button: int
    first: int
    last: int
    size: int


def _button_runs(times: list[int], picks: list[int], max_gap: int) -> list[list[int]]:
    """``picks`` (indices of one button's presses) cut where the button pauses > ``max_gap``."""
    runs: list[list[int]] = []
    for i in picks:
        if runs and times[i] - times[runs[-1][-1]] <= max_gap:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def find_bursts(
    times: list[int], buttons: list[int], rules: ReviewRules, least: int | None = None
) -> list[Burst]:
    """Every burst (module docstring) of presses ``times``/``buttons``, by button key (see
    ``GROUPS``: 1..4 one button, 5 the happy side, 6 the unhappy side) and time; ``least``
    presses at least (default ``burst_min_presses``)."""
    max_gap, min_gap = rules.burst_max_gap // _MS, rules.run_min_gap // _MS
    least = rules.burst_min_presses if least is None else least
    found: list[Burst] = []
    for button in KEYS:
        members = GROUPS[button]
        picks = [i for i, b in enumerate(buttons) if b in members]
        for run in _button_runs(times, picks, max_gap):
            if not least <= len(run) <= rules.burst_max_presses:
                continue
            gaps = [times[b] - times[a] for a, b in pairwise(run)]
            share = len(run) / (run[-1] - run[0] + 1)
            if median(gaps) >= min_gap and share >= rules.run_min_share:
                found.append(Burst(button, run[0], run[-1], len(run)))
    return found


def _days(device: DeviceHistory, zone: tzinfo) -> dict[str, tuple[int, int]]:
    """City date -> (first index, after-last index) of the device's presses that day."""
    spans: dict[str, list[int]] = {}
    for i, t in enumerate(device.times):
        day = datetime.fromtimestamp(t / 1000, zone).date().isoformat()
        spans.setdefault(day, [i, i])[1] = i
    return {day: (a, b + 1) for day, (a, b) in spans.items()}


def _expected(device: DeviceHistory, lo: int, hi: int, bursts: list[Burst],
              rules: ReviewRules) -> tuple[list[float], list[float], dict[Burst, float],
                                           dict[int, list[int]]]:  # fmt: skip
    """Expected bursts per button key (index 1..6) among presses ``lo..hi-1``: at each press of
    b, the chance that it starts a burst, ``q**(m-1) * (1-q)``, where ``q`` is the share of the
    gaps between the button's presses around it (``burst_context`` each side, the bursts'
    presses left out) that are at most ``burst_max_gap``; the same for bursts of
    ``rhythm_min_presses``. Also each burst's own chance, ``q**(size-1)`` with the ``q`` where
    it starts (how unusual that burst is on its own), and per key the short gaps between the
    button's presses outside bursts (the citizens' rhythm the rhythm test compares with)."""
    times, buttons, m = device.times, device.buttons, rules.burst_min_presses
    max_gap, reach, m_rhythm = (
        rules.burst_max_gap // _MS,
        rules.burst_context,
        rules.rhythm_min_presses,
    )
    inside = {(b.button, i) for b in bursts if b.size >= m for i in range(b.first, b.last + 1)}
    expected, expected_rhythm = [0.0] * len(GROUPS), [0.0] * len(GROUPS)
    pools: dict[int, list[int]] = {}
    chances: dict[Burst, float] = {}
    for button in KEYS:
        members = GROUPS[button]
        keep = [i for i in range(lo, hi) if buttons[i] in members and (button, i) not in inside]
        short = [0] + [int(times[b] - times[a] <= max_gap) for a, b in pairwise(keep)]  # fmt: skip
        gaps = [times[b] - times[a] for a, b in pairwise(keep)]
        pools[button] = [g for g in gaps if g <= max_gap]
        pre = [0]
        for x in short:
            pre.append(pre[-1] + x)
        local = []
        for x in range(len(keep)):
            a, z = max(1, x - reach), min(len(keep), x + reach + 1)
            local.append((pre[z] - pre[a] + 0.5) / (max(z - a, 0) + 1))
            expected[button] += local[-1] ** (m - 1) * (1 - local[-1])
            expected_rhythm[button] += local[-1] ** (m_rhythm - 1) * (1 - local[-1])
        for burst in (b for b in bursts if b.button == button):
            x = min(bisect_left(keep, burst.first), len(keep) - 1)
            q = local[x] if local else 0.5
            chances[burst] = q ** (burst.size - 1)
    return expected, expected_rhythm, chances, pools


def _least(rules: ReviewRules) -> int:
    """The fewest presses of a burst either test looks at."""
    if rules.rhythm_chance > 0:
        return min(rules.burst_min_presses, rules.rhythm_min_presses)
    return rules.burst_min_presses


_Tally = tuple[list[Burst], list[float], list[float], dict[Burst, float], dict[int, list[int]]]
#: (device id, first index) -> the tally: the site's desks are each other's reference
TallyCache = dict[tuple[str, int], _Tally]


def _tally(device: DeviceHistory, lo: int, hi: int, rules: ReviewRules,
           cache: TallyCache) -> _Tally:  # fmt: skip
    key = (device.device_id, lo)
    if key in cache:
        return cache[key]
    bursts = [
        Burst(b.button, b.first + lo, b.last + lo, b.size)
        for b in find_bursts(device.times[lo:hi], device.buttons[lo:hi], rules, _least(rules))
    ]
    cache[key] = (bursts, *_expected(device, lo, hi, bursts, rules))
    return cache[key]


@dataclass
class _Reference:
    """Bursts seen and expected per button key: the site's other desks that day, and the
    device's own other days."""

    site_seen: list[int]
    site_expected: list[float]
    own_seen: list[int]
    own_expected: list[float]
    least: int  # burst_min_presses: shorter bursts are the rhythm test's alone
    site_pools: dict[int, list[int]]

    def add(self, tally: _Tally, *, own: bool, leave_out: frozenset[int]) -> None:
        """Add one desk's day, but not its buttons in ``leave_out``."""
        _, expected, _, _, pools = tally
        seen, wanted = (self.own_seen, self.own_expected) if own else (
            self.site_seen, self.site_expected)  # fmt: skip
        for key, count in enumerate(_counts(tally, self.least)):
            if key in leave_out:
                continue
            seen[key] += count
            wanted[key] += expected[key]
            if not own:
                self.site_pools.setdefault(key, []).extend(pools.get(key, []))

    def factor(self, key: int) -> float:
        """How many times more bursts the references had than the model predicts (>= 1)."""
        seen = self.site_seen[key] + self.own_seen[key]
        return max(1.0, (seen + 1) / (self.site_expected[key] + self.own_expected[key] + 1))


def _counts(tally: _Tally, least: int) -> list[int]:
    """Bursts of at least ``least`` presses per button key."""
    counts = [0] * len(GROUPS)
    for burst in tally[0]:
        counts[burst.button] += burst.size >= least
    return counts


def _reference(device: DeviceHistory, day: str, context: SiteContext, rules: ReviewRules,
               zone: tzinfo, cache: TallyCache) -> _Reference:  # fmt: skip
    """The site's other desks that day and the device's other days. A reference whose bursts
    of a button are themselves suspect (the count test with no reference) is left out for that
    button, as long as such references are at most half of them: one neighbour's staff bursts
    are no queue that the site shares, and would excuse this desk's; the same bursts on most
    desks of the site are."""
    size = len(GROUPS)
    ref = _Reference([0] * size, [0.0] * size, [0] * size, [0.0] * size,
                     rules.burst_min_presses, {})  # fmt: skip
    tallies = [
        (_tally(other, span[0], span[1], rules, cache), False)
        for other in context.neighbours(device)
        if (span := _days(other, zone).get(day)) is not None
    ] + [
        (_tally(device, lo, hi, rules, cache), True)
        for other_day, (lo, hi) in _days(device, zone).items()
        if other_day != day
    ]
    suspect = [
        {
            key
            for key, count in enumerate(_counts(tally, ref.least))
            if _passes(count, tally[1][key], rules.burst_min_count, rules)
        }
        for tally, _ in tallies
    ]
    common = {key for key in range(size) if 2 * sum(key in s for s in suspect) > len(tallies)}
    for (tally, own), keys in zip(tallies, suspect, strict=True):
        ref.add(tally, own=own, leave_out=frozenset(keys - common))
    return ref


def recurring_bursts(
    device: DeviceHistory,
    context: SiteContext,
    rules: ReviewRules,
    timezone: str,
    cache: TallyCache | None = None,
) -> list[Suspect]:
    """Every burst of a device's city day whose recurrence is suspect (module docstring)."""
    zone, cache = ZoneInfo(timezone), {} if cache is None else cache
    least = min(rules.burst_min_count, rules.rhythm_min_count if rules.rhythm_chance else 99)
    found: list[Suspect] = []
    for day, (lo, hi) in sorted(_days(device, zone).items()):
        tally = _tally(device, lo, hi, rules, cache)
        by_button: dict[int, list[Burst]] = defaultdict(list)
        for burst in tally[0]:
            by_button[burst.button].append(burst)
        if not any(len(v) >= least for v in by_button.values()):
            continue
        ref = _reference(device, day, context, rules, zone, cache)
        singles: list[Suspect] = []
        for button, group in sorted(by_button.items()):
            suspects = _by_count(device, day, button, group, tally, ref, rules, zone) or (
                _by_rhythm(device, day, button, group, tally, ref, rules, zone))  # fmt: skip
            if button <= 4:
                singles.extend(suspects)
                continue
            # a side is reported only where no single button already explains the burst
            found.extend(
                side for side in suspects
                if not any(s.from_ms <= side.to_ms and side.from_ms <= s.to_ms for s in singles)
            )  # fmt: skip
        found.extend(singles)
    return found


def _by_count(device: DeviceHistory, day: str, button: int, bursts: list[Burst], tally: _Tally,
              ref: _Reference, rules: ReviewRules, zone: tzinfo) -> list[Suspect]:  # fmt: skip
    """The count test: more bursts of ``burst_min_presses`` than the (raised) expectation."""
    group = [b for b in bursts if b.size >= rules.burst_min_presses]
    chances = tally[3]
    mu = tally[1][button] * ref.factor(button)
    if not _passes(len(group), mu, rules.burst_min_count, rules):
        return []
    p = poisson_tail(len(group), mu)
    # the bursts beyond what the expectation explains, the least likely first
    excess = sorted(group, key=lambda b: (chances[b], b.first))[: len(group) - round(mu)]
    return _suspects(device, day, group, excess, zone, (p, mu), ref)


def _by_rhythm(device: DeviceHistory, day: str, button: int, bursts: list[Burst], tally: _Tally,
               ref: _Reference, rules: ReviewRules, zone: tzinfo) -> list[Suspect]:  # fmt: skip
    """The rhythm test: more bursts of ``rhythm_min_presses`` whose gaps are more even than
    the desk's own short gaps (chance <= ``rhythm_chance`` each) than the expectation of such
    bursts, ``rhythm_chance`` times the (raised) expected bursts of that length."""
    if not rules.rhythm_chance or len(bursts) < rules.rhythm_min_count:
        return []
    mu = tally[2][button] * ref.factor(button) * rules.rhythm_chance
    if not _passes(len(bursts), mu, rules.rhythm_min_count, rules):
        return []  # not even if every burst kept a rhythm: spare the resampling
    pool = tally[4].get(button, [])
    if len(pool) < RHYTHM_MIN_POOL:  # a quiet desk: its site's other desks that day too
        pool = pool + ref.site_pools.get(button, [])
    evenness = {
        b: rhythm_chance(_gaps(device, b), pool, f"{device.device_id}:{device.times[b.first]}")
        for b in bursts
    }
    regular = [b for b in bursts if evenness[b] <= rules.rhythm_chance]
    if not _passes(len(regular), mu, rules.rhythm_min_count, rules):
        return []
    p = poisson_tail(len(regular), mu)
    chances = tally[3]
    order = sorted(regular, key=lambda b: (chances[b] * evenness[b], b.first))
    note = (
        f" Counted here: the bursts of {rules.rhythm_min_presses} presses or more whose gaps are "
        f"more even than this desk's own short gaps between presses of the button (chance "
        f"<= {rules.rhythm_chance:g} each; {len(regular)} of {len(bursts)})."
    )
    return _suspects(device, day, regular, order[: len(regular) - round(mu)], zone, (p, mu),
                     ref, note)  # fmt: skip


def _passes(seen: int, mu: float, least: int, rules: ReviewRules) -> bool:
    """At least ``least`` bursts, ``burst_min_ratio`` times ``mu``, Poisson chance small."""
    return (
        seen >= least
        and seen >= rules.burst_min_ratio * mu
        and poisson_tail(seen, mu) <= rules.burst_probability
    )


def _gaps(device: DeviceHistory, burst: Burst) -> list[int]:
    """Gaps between the burst's presses of its button (citizens slipped in left out)."""
    t, members = device.times, GROUPS[burst.button]
    picks = [i for i in range(burst.first, burst.last + 1) if device.buttons[i] in members]
    return [t[y] - t[x] for x, y in pairwise(picks)]


def _suspects(
    device: DeviceHistory,
    day: str,
    group: list[Burst],
    flagged: list[Burst],
    zone: tzinfo,
    chance_of: tuple[float, float],
    ref: _Reference,
    note: str = "",
) -> list[Suspect]:
    t = device.times
    spans = ", ".join(
        f"{clock(t[b.first], zone)}-{clock(t[b.last], zone)} ({b.size})" for b in group
    )
    button = group[0].button
    gaps = [g for b in group for g in _gaps(device, b)]
    others = sum(b.last - b.first + 1 - b.size for b in group)
    p, mu = chance_of
    factor = ref.factor(button)
    site_seen, site_exp = ref.site_seen[button], ref.site_expected[button]
    own_seen, own_exp = ref.own_seen[button], ref.own_expected[button]
    evidence = (
        f"{len(group)} bursts of button {NAMES[button]} on {day} (city time, {zone}): "
        f"{spans}; {others} other presses inside them, gaps {duration(min(gaps))} to "
        f"{duration(max(gaps))} (median {duration(median(gaps))}). Under this desk's pace and "
        f"button mix around each press, about {mu:.2g} such bursts were expected that day; "
        f"chance of {len(group)} or more: {chance(p)}. The site's other desks had {site_seen} "
        f"that day ({site_exp:.2g} expected), this desk's other days {own_seen} "
        f"({own_exp:.2g} expected)"
        + (f", so the expectation was raised {factor:.1f} times" if factor > 1.05 else "")
        + f".{note} The {len(flagged)} least likely of them on their own (beyond the expected) are "
        "reported, each as its own period."
    )
    return [
        Suspect(
            device_id=device.device_id,
            pattern="recurring_bursts",
            from_ms=t[b.first],
            to_ms=t[b.last],
            presses=b.last - b.first + 1,
            evidence=evidence,
            site_id=device.site_id,
            figures={
                "button": SHORT[b.button],
                "day": day,
                "bursts": len(group),
                "expected_bursts": mu,
                "p_bursts": p,
                "reference_factor": round(factor, 3),
                "site_bursts": site_seen,
                "own_other_days_bursts": own_seen,
                "test": "rhythm" if note else "count",
            },
        )
        for b in sorted(flagged, key=lambda b: b.first)
    ]
