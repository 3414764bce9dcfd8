"""Pattern ``one_button_run``: one button pressed far more often than the device's usual pace
and button mix predict, at a human pace (staff lifting their own desk every 10-60 s).

How a run is judged. For every press of button b (the anchor) and every window length in
``run_windows``, the window reaches to the last press of b within that length. Under the
device's usual behaviour, presses of b arrive at a rate learnt from the hour around the window
(``run_context`` on each side, the window itself left out):

* the device's pace there: idle stretches count at most ``run_idle_cap`` each, so a closed
  night or the start of the file does not make the pace look slow;
* its share of b there, pulled toward its share over its whole history (``mix_prior`` presses);
* each side (the hour before, the hour after) on its own, and the busier side wins: a queue
  that builds up and stays, or a service that turns worse at 10:00 and stays so, is usual on
  one side of the window; staff start and stop, so their run is unusual on both;
* times how much its neighbours (same site and channel, else department) got more presses of b
  in the window than their own context on that same side predicts: a queue that grows or a
  department whose service worsens moves the neighbours too, staff at one desk do not.

The window is suspect when at least ``run_min_presses`` presses of b fall in it, b is at least
``run_min_share`` of all its presses, their median gap is at least ``run_min_gap`` (a human pace,
not a child's burst) and the chance of that many presses of b (Poisson, at the expected rate) is at
most ``run_probability``. Suspect windows of one button that overlap merge into one period; a
period is split where b pauses longer than ``run_max_gap`` (or ``run_split`` times its median gap)
and each piece is judged again, so a period starts and ends with a press of b. A pause of 3 or 4
filled only with presses of its side (a run of 3 and 4 that presses 3 three times in a row) is no
pause: the run goes on at its pace, and is not cut there. Each piece is then hugged to the run
itself: of its sub-periods that drop up to ``run_hug`` presses of b off either end, the one whose
count is the least likely under the usual behaviour (Poisson log-likelihood ratio) is the period,
so presses of b at a citizen's pace just before or after the run, and the citizens served around
it, stay out; before that, presses of b are dropped off either end while their gap to the next is
longer than ``run_split`` times the period's median gap (a citizen's press of b a minute before a
run at 20 s). ``run_hug`` is 0 by default (the pace trim alone): the most unlikely sub-period flips
between near-equal ones with any change of the context, so adding a press 40 min away could shorten
a caught run. Pieces split that way are joined again where the pause between them is within
``run_split`` times the median gap of the run beside them (a fast run merged with a slower one must
not cut the slower one at its own longer gaps).

Second pass (``periods.scan``): where the device or a neighbour had suspect runs or bursts, the
runs are judged again with those periods (two minutes each side) left out of every context and
of the neighbours' presses during the window, so that one staff run does not make the next look
usual, nor a neighbour's run excuse this desk's.

A side (3-4 or 1-2) period is reported beside the single-button periods it overlaps only where
its presses outside them still hold a suspect window of their own (``_explained``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta, tzinfo
from statistics import median
from zoneinfo import ZoneInfo

from civicpulse.analytics.review.periods import DeviceHistory, SiteContext, Suspect
from civicpulse.analytics.review.rules import ReviewRules
from civicpulse.analytics.review.stats import binomial_tail, poisson_tail
from civicpulse.analytics.review.words import BUTTONS, chance, clock, duration, share

__all__ = ["Holes", "one_button_runs"]

_MS = timedelta(milliseconds=1)
#: device id -> suspect periods (first, last press ms) of a first pass
Holes = Mapping[str, Sequence[tuple[int, int]]]
#: button keys: 0 = any press, 1..4 = one button, 5 = the happy side, 6 = the unhappy side
#: (staff who alternate 3 and 4 lift the score as surely as with 4 alone)
GROUPS: tuple[frozenset[int], ...] = (
    frozenset((1, 2, 3, 4)), frozenset((1,)), frozenset((2,)), frozenset((3,)), frozenset((4,)),
    frozenset((3, 4)), frozenset((1, 2)),
)  # fmt: skip
NAMES = {**BUTTONS, 5: "3-4 (happy side)", 6: "1-2 (unhappy side)"}
SHORT = {1: "1", 2: "2", 3: "3", 4: "4", 5: "3-4", 6: "1-2"}
_KEY = {name: key for key, name in SHORT.items()}


class _Stream:
    """Prefix sums over presses in time order: counts per button and idle-capped active time."""

    def __init__(self, times: Sequence[int], buttons: Sequence[int], cap: int) -> None:
        self.times, self.cap = times, cap
        self.active = [0]
        self.pre: list[list[int]] = [[0] for _ in GROUPS]
        for i, (t, b) in enumerate(zip(times, buttons, strict=True)):
            if i:
                self.active.append(self.active[-1] + min(t - times[i - 1], cap))
            for key, members in enumerate(GROUPS):
                self.pre[key].append(self.pre[key][-1] + (b in members))

    def count(self, button: int, lo: int, hi: int) -> int:
        """Presses of button key ``button`` (see ``GROUPS``) among indices ``lo..hi-1``."""
        return self.pre[button][hi] - self.pre[button][lo]

    def around(
        self, t_first: int, t_last: int, ctx: int
    ) -> tuple[int, int, int, int, float, float]:
        """(first, after-last, context lo, context hi, active ms before, active ms after).

        Indices: window = ``first..after-1``; context = ``lo..first-1`` and ``after..hi-1``.
        """
        t, cap = self.times, self.cap
        first, after = bisect_left(t, t_first), bisect_right(t, t_last)
        lo, hi = bisect_left(t, t_first - ctx), bisect_right(t, t_last + ctx)
        if lo < first:
            left = min(t[lo] - (t_first - ctx), cap) + self.active[first - 1] - self.active[lo]
            left += min(t_first - t[first - 1], cap)
        else:
            left = min(ctx, cap)
        if hi > after:
            right = min(t[after] - t_last, cap) + self.active[hi - 1] - self.active[after]
            right += min(t_last + ctx - t[hi - 1], cap)
        else:
            right = min(ctx, cap)
        return first, after, lo, hi, float(left), float(right)

    def rate(self, button: int, spans: Sequence[tuple[int, int]], active: float,
             usual: float, prior: float) -> tuple[float, float]:  # fmt: skip
        """(presses of ``button`` per ms, share of ``button``) expected from the presses of
        ``spans`` (index ranges) over ``active`` ms: pace x share, the share pulled toward
        ``usual`` with ``prior`` presses."""
        seen = sum(hi - lo for lo, hi in spans)
        seen_b = sum(self.count(button, lo, hi) for lo, hi in spans)
        share = (seen_b + prior * usual) / (seen + prior)
        return (seen + 1) / max(active, 1.0) * share, share


def _chernoff_above(k: int, mu: float, limit: float) -> bool:
    """True when P(Poisson(mu) >= k) is surely above ``limit`` (skip the exact sum)."""
    if k <= mu:
        return True
    return -mu + k * (1 + math.log(mu) - math.log(k)) > math.log(limit) if mu > 0 else False


def _inside(t: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= t <= b for a, b in spans)


class _Judge:
    """The expected count of one button in a window of one device, and its chance.

    ``holes``: suspect periods (ms, both ends inclusive) of a first pass by device. Their
    presses, and the device's active time between them, are left out of every context, and the
    neighbours' presses inside their own holes out of the presses they got during a window:
    what is learnt as usual must not be another suspect run (a staff run 20 min before a second
    one made the second look usual)."""

    def __init__(self, device: DeviceHistory, context: SiteContext, rules: ReviewRules,
                 zone: tzinfo, holes: Holes) -> None:  # fmt: skip
        cap, self.ctx = rules.run_idle_cap // _MS, rules.run_context // _MS
        self.zone = zone
        self.d, self.rules = device, rules
        self.own = _Stream(device.times, device.buttons, cap)
        t = device.times
        self.holes = [
            (bisect_left(t, a), bisect_right(t, b)) for a, b in holes.get(device.device_id, ())
        ]
        merged = sorted(
            (t, b, _inside(t, holes.get(n.device_id, ())))
            for n in context.neighbours(device)
            for t, b in zip(n.times, n.buttons, strict=True)
        )
        self.nb = _Stream([t for t, _, _ in merged], [b for _, b, _ in merged], cap)
        # the neighbours' presses a window is compared with: their own suspect periods left
        # out (a neighbour's staff run is no shared change); their context keeps every press
        clean = [(t, b) for t, b, hole in merged if not hole]
        self.nb_clean = _Stream([t for t, _ in clean], [b for _, b in clean], cap)
        prior = context.prior_mix(device)
        total, weight = len(device.times), rules.mix_prior
        # the device's whole-history mix, pulled toward its neighbours'
        self.usual = [(device.counts[b] + weight * prior[b]) / (total + weight) for b in range(5)]
        self.usual += [self.usual[3] + self.usual[4], self.usual[1] + self.usual[2]]

    def figures(self, button: int, first: int, last: int) -> dict[str, float] | None:
        """Figures of the window from press ``first`` to press ``last`` (both of ``button``)."""
        own, t = self.own, self.d.times
        k = own.count(button, first, last + 1)
        n = last - first + 1
        if k < self.rules.run_min_presses or k < self.rules.run_min_share * n:
            return None
        t0, t1 = t[first], t[last]
        _, _, lo, hi, left, right = own.around(t0, t1, self.ctx)
        prior, usual = self.rules.mix_prior, self.usual[button]
        # the busier side: a queue that builds up and stays, or a service that turns worse and
        # stays, is usual on one side of the window; staff start and stop, unusual on both
        before, _ = own.rate(button, *self._side(lo, first, left, first, last), usual, prior)
        after, _ = own.rate(button, *self._side(last + 1, hi, right, first, last), usual, prior)
        rate = max(before, after)
        factor, nb_k, nb_expected = 1.0, 0, 0.0
        if self.nb.times:
            # the neighbours' change against the same side of the window
            f, a, nlo, nhi, nleft, nright = self.nb.around(t0, t1, self.ctx)
            clean = self.nb_clean
            nb_k = clean.count(button, bisect_left(clean.times, t0), bisect_right(clean.times, t1))
            span, nactive = ((nlo, f), nleft) if before >= after else ((a, nhi), nright)
            nb_rate, _ = self.nb.rate(button, [span], nactive, usual, prior)
            nb_expected = nb_rate * (t1 - t0)
            factor = max(1.0, (nb_k + 1) / (nb_expected + 1))
        expected = rate * (t1 - t0) * factor
        return {"k": k, "n": n, "expected": expected, "factor": factor, "nb_k": nb_k,
                "nb_expected": nb_expected, "rate_ms": rate}  # fmt: skip

    def _side(self, lo: int, hi: int, active: float, first: int,
              last: int) -> tuple[list[tuple[int, int]], float]:  # fmt: skip
        """Context presses ``lo..hi-1`` and their active ms without the holes that stay clear
        of the window ``first..last`` (a hole overlapping it is the window's own run)."""
        spans, start = [], lo
        for a, b in self.holes:
            x, y = max(a, start), min(b, hi)
            if x >= y or (a <= last and b - 1 >= first):
                continue
            spans.append((start, x))
            active -= self.own.active[y - 1] - self.own.active[x]
            start = y
        spans.append((start, hi))
        return spans, max(active, 1.0)

    def suspect_window(self, button: int, first: int, last: int) -> dict[str, float] | None:
        figures = self.figures(button, first, last)
        if figures is None:
            return None
        k, limit = int(figures["k"]), self.rules.run_probability
        # the first press opens the window: the k - 1 after it are what the rate must explain
        if _chernoff_above(k - 1, figures["expected"], limit):
            return None
        figures["p_run"] = poisson_tail(k - 1, figures["expected"])
        return figures if figures["p_run"] <= limit else None


def _gaps(times: Sequence[int], b_idx: Sequence[int], i: int, j: int) -> list[int]:
    return [times[b_idx[m + 1]] - times[b_idx[m]] for m in range(i, j)]


def _windows(judge: _Judge, button: int, b_idx: list[int]) -> Iterator[tuple[int, int]]:
    rules, t = judge.rules, judge.d.times
    b_times = [t[x] for x in b_idx]
    min_gap = rules.run_min_gap // _MS
    for i in range(len(b_idx)):
        last_j = -1
        for length in rules.run_windows:
            j = bisect_right(b_times, b_times[i] + length // _MS) - 1
            if j == last_j or j - i + 1 < rules.run_min_presses:
                continue
            last_j = j
            if judge.suspect_window(button, b_idx[i], b_idx[j]) is None:
                continue
            if median(_gaps(t, b_idx, i, j)) < min_gap:
                continue
            yield i, j


#: the side each single button belongs to (a pause of 4 filled with 3s is no pause of the run)
_SIDE = {1: 6, 2: 6, 3: 5, 4: 5}


def _pause(judge: _Judge, button: int, b_idx: list[int], m: int) -> int:
    """The pause of the run between its presses ``m`` and ``m + 1`` of ``button``: the gap
    between them, unless every press in between is of the button's side (a run of 3 and 4
    that presses 3 twice in a row keeps its pace), then the longest gap along those presses."""
    t, buttons = judge.d.times, judge.d.buttons
    first, last = b_idx[m], b_idx[m + 1]
    side = GROUPS[_SIDE.get(button, button)]
    if last - first == 1 or any(buttons[x] not in side for x in range(first + 1, last)):
        return t[last] - t[first]
    return max(t[x + 1] - t[x] for x in range(first, last))


def _pieces(judge: _Judge, button: int, b_idx: list[int], i: int, j: int) -> list[tuple[int, int]]:
    """Split ``i..j`` where the run pauses (:func:`_pause`) longer than ``run_max_gap``, or
    longer than ``run_split`` times the period's median gap (at least a minute): two runs with
    citizens served between them are two periods, and the citizens stay out of both. Then
    pieces are joined again where the pause between them is within ``run_split`` times the
    median gap of the run beside it (a piece of at least ``run_min_presses``): a fast run merged
    with a slower one later must not cut the slower one at its own longer gaps."""
    rules, t = judge.rules, judge.d.times
    relative = max(60_000.0, rules.run_split * median(_gaps(t, b_idx, i, j) or [0]))
    max_gap = min(rules.run_max_gap // _MS, relative)
    pieces, start = [], i
    for m in range(i, j):
        if _pause(judge, button, b_idx, m) > max_gap:
            pieces.append((start, m))
            start = m + 1
    pieces.append((start, j))
    joined = [pieces[0]]
    for a, b in pieces[1:]:
        x, y = joined[-1]
        paces = [median(_gaps(t, b_idx, lo, hi)) for lo, hi in ((x, y), (a, b))
                 if hi - lo + 1 >= rules.run_min_presses]  # fmt: skip
        gap = _pause(judge, button, b_idx, y)
        limit = min(rules.run_max_gap // _MS, max(60_000.0, rules.run_split * max(paces or [0])))
        if paces and gap <= limit:
            joined[-1] = (x, b)
        else:
            joined.append((a, b))
    return joined


def _strength(figures: dict[str, float] | None) -> float:
    """Poisson log-likelihood ratio of the window's presses after the first against its
    expectation: grows with how far the count is above what the rate explains."""
    if figures is None:
        return 0.0
    k, mu = figures["k"] - 1, max(figures["expected"], 1e-9)
    return k * math.log(k / mu) - (k - mu) if k > mu else 0.0


def _trim(judge: _Judge, button: int, b_idx: list[int], i: int, j: int) -> tuple[int, int]:
    """Drop presses off either end of ``i..j`` while the run's pause (:func:`_pause`) to the
    next is longer than ``run_split`` times the period's median gap: a citizen pressing the same
    button a minute before a run at 20 s is not part of it."""
    t, factor, least = judge.d.times, judge.rules.run_split, judge.rules.run_min_presses
    while j - i + 1 > least:
        typical = median(_gaps(t, b_idx, i, j))
        if _pause(judge, button, b_idx, i) > factor * typical:
            i += 1
        elif _pause(judge, button, b_idx, j - 1) > factor * typical:
            j -= 1
        else:
            break
    return i, j


def _hug(judge: _Judge, button: int, b_idx: list[int], i: int, j: int) -> tuple[int, int]:
    """``i..j`` trimmed at its pace (:func:`_trim`), then the sub-period (up to ``run_hug``
    presses of the button off each end) whose count is the most unlikely under the device's
    usual behaviour: presses of the button at a citizen's pace before or after the run fall
    out, so do the citizens served around it."""
    i, j = _trim(judge, button, b_idx, i, j)
    reach, least = judge.rules.run_hug, judge.rules.run_min_presses
    best, best_strength = (i, j), _strength(judge.figures(button, b_idx[i], b_idx[j]))
    for a in range(i, min(i + reach, j) + 1):
        for b in range(j, max(j - reach, a) - 1, -1):
            if b - a + 1 < least or (a, b) == (i, j):
                continue
            strength = _strength(judge.figures(button, b_idx[a], b_idx[b]))
            if strength > best_strength * (1 + 1e-9):
                best, best_strength = (a, b), strength
    return best


def _suspect(judge: _Judge, button: int, b_idx: list[int], i: int, j: int) -> Suspect | None:
    first, last = b_idx[i], b_idx[j]
    figures = judge.suspect_window(button, first, last)
    t = judge.d.times
    gaps = _gaps(t, b_idx, i, j)
    if figures is None or median(gaps) < judge.rules.run_min_gap // _MS:
        return None
    k, n = int(figures["k"]), int(figures["n"])
    usual = judge.usual[button]
    p_mix = binomial_tail(k, n, usual)
    from_ms, to_ms = t[first], t[last]
    per_press = 1 / figures["rate_ms"]
    neighbours = (
        f" Its neighbours got {figures['nb_k']} presses of button {SHORT[button]} in that time "
        f"(about {figures['nb_expected']:.1f} expected)"
        + (
            f", so the expectation was raised {figures['factor']:.1f} times."
            if figures["factor"] > 1.05
            else ": they did not move."
        )
        if judge.nb.times
        else " The device has no neighbours to compare with."
    )
    evidence = (
        f"{k} presses of button {NAMES[button]} in {duration(to_ms - from_ms)} "
        f"({clock(from_ms, judge.zone)}-{clock(to_ms, judge.zone)} city time), {k} of the {n} "
        f"presses in that time; "
        f"gaps between them: median {duration(median(gaps))}, shortest {duration(min(gaps))}, "
        f"longest {duration(max(gaps))}. In the hour around it this device got one press of "
        f"button {SHORT[button]} every {duration(per_press)}, so about "
        f"{figures['expected']:.1f} were expected after the first; chance of {k - 1} or more: "
        f"{chance(figures['p_run'])}. "
        f"Its usual share of button {SHORT[button]} is {share(usual, 1)}; chance that {k} of {n} "
        f"presses are button {SHORT[button]} under that mix: {chance(p_mix)}.{neighbours}"
    )
    return Suspect(
        device_id=judge.d.device_id,
        pattern="one_button_run",
        from_ms=from_ms,
        to_ms=to_ms,
        presses=n,
        evidence=evidence,
        site_id=judge.d.site_id,
        figures={
            "button": SHORT[button],
            "button_presses": k,
            "median_gap_s": median(gaps) / 1000,
            "min_gap_s": min(gaps) / 1000,
            "max_gap_s": max(gaps) / 1000,
            "usual_share": round(usual, 4),
            "expected_button_presses": round(figures["expected"], 2),
            "neighbour_factor": round(figures["factor"], 3),
            "p_run": figures["p_run"],
            "p_mix": p_mix,
        },
    )


def one_button_runs(
    device: DeviceHistory,
    context: SiteContext,
    rules: ReviewRules,
    timezone: str = "UTC",
    holes: Holes | None = None,
) -> list[Suspect]:
    """Every one-button run of one device (see the module docstring); times in the evidence
    are in ``timezone`` (the city's); ``holes``: a first pass's suspect periods by device,
    left out of what is learnt as usual (see ``_Judge``)."""
    if len(device.times) < rules.run_min_presses:
        return []
    judge = _Judge(device, context, rules, ZoneInfo(timezone), holes or {})
    found: list[Suspect] = []
    singles: list[Suspect] = []
    for button in (1, 2, 3, 4, 5, 6):
        if button == 5:
            singles, found = found, []
        members = GROUPS[button]
        b_idx = [x for x, b in enumerate(device.buttons) if b in members]
        if len(b_idx) < rules.run_min_presses:
            continue
        merged: list[list[int]] = []
        for i, j in _windows(judge, button, b_idx):
            if merged and i <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], j)
            else:
                merged.append([i, j])
        for i, j in merged:
            for a, b in _pieces(judge, button, b_idx, i, j):
                hug = _hug(judge, button, b_idx, a, b)
                suspect = _suspect(judge, button, b_idx, *hug) or _suspect(
                    judge, button, b_idx, a, b
                )
                if suspect is not None:
                    found.append(suspect)
    return singles + [side for side in found if not _explained(judge, side, singles)]


def _explained(judge: _Judge, side: Suspect, singles: list[Suspect]) -> bool:
    """A side period is left out where single-button periods already explain it: its side's
    presses outside them hold no suspect window of their own (``run_min_presses`` or more in a
    row between the singles' periods, as unlikely as ``run_probability``). It was once left out
    for any overlap, which lost a side run that went on past a single button's run."""
    spans = [(s.from_ms, s.to_ms) for s in singles
             if s.from_ms <= side.to_ms and side.from_ms <= s.to_ms]  # fmt: skip
    if not spans:
        return False
    key = _KEY[str(side.figures["button"])]
    t, buttons = judge.d.times, judge.d.buttons
    lo, hi = bisect_left(t, side.from_ms), bisect_right(t, side.to_ms)
    pieces: list[list[int]] = [[]]
    for i in range(lo, hi):
        if _inside(t[i], spans):
            pieces.append([])
        elif buttons[i] in GROUPS[key]:
            pieces[-1].append(i)
    return not any(
        len(piece) >= judge.rules.run_min_presses
        and judge.suspect_window(key, piece[0], piece[-1]) is not None
        for piece in pieces
    )
