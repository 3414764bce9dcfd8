"""A tried and NOT kept candidate (fifth round, docs/review.md): staff segments of a device's
day from a two-state hidden Markov model decoded by Viterbi, measured on the TRAIN seeds only.

A device's presses (time order) are read as a hidden sequence of *honest* stretches and *staff*
stretches. Each press is scored under both:

* honest: its button from the desk's usual mix, its gap to the press before from the desk's
  usual pace (exponential at the local rate: citizens arrive independently), both learnt from
  the hour on each side of the press beyond a 10-min hole (so a staff stretch does not explain
  itself), the side that explains the press best winning (as the scan's busier side);
* staff on key ``k`` (one button 1-4, or a side, 5 = 3-4, 6 = 1-2): the key's buttons for
  most presses, the rest citizens served meanwhile (``others`` of them, from the usual mix), and
  a short regular gap: log-normal around ``pace_s`` with a broad ``pace_spread`` (a human pace
  anywhere from a few seconds to a minute; never the simulator's own parameters), mixed with
  the citizens' gaps in the same share.

Switching costs a small probability (``enter`` from honest into a staff key, ``1 - stay`` out
of it). A second decoding learns what is usual without the first decoding's staff presses.
Decoded stretches (hugged to the key's first and last press, at least ``run_min_presses``) are
confirmed by the scan's own Poisson test (``runs._Judge``), then used in one of the MODES
against ``scan``'s one-button runs: ``only`` (the decoder as the period finder), ``add``
(decoded periods where the scan found nothing), ``replace`` / ``extend`` / ``trim`` (a caught
run's boundaries set to / widened to / narrowed to the decoded stretch it overlaps), ``veto``
(a caught run kept only where a decoded stretch, unconfirmed, overlaps it).

Why it was not kept (train figures in docs/review.md): as a finder it catches less (0.731
against 0.859) and what it adds is not staff; as a boundary it moves along the thresholds' own
trade-off curve (``extend``: recall +0.011 for +0.08 points of false flags), over the tuning
margin. ``python -m benchmarks.misuse_hmm [--quick] [MODE ...]``; the held-back seeds are never
read here.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from civicpulse.analytics.review import periods, runs
from civicpulse.analytics.review.periods import DeviceHistory, ScanPress, SiteContext, Suspect, scan
from civicpulse.analytics.review.rules import DEFAULT_REVIEW, ReviewBook, ReviewRules

from .common import parser
from .misuse import STYLE_KINDS, TRAIN, load_days, run_days

__all__ = [
    "KEYS",
    "MEMBERS",
    "MODES",
    "StaffModel",
    "Usual",
    "decode",
    "hmm_scanner",
    "staff_segments",
    "usual_around",
]

#: staff keys: one button, or a side (5: 3-4, 6: 1-2); 0 is the honest state
KEYS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
MEMBERS: dict[int, frozenset[int]] = {
    1: frozenset((1,)), 2: frozenset((2,)), 3: frozenset((3,)), 4: frozenset((4,)),
    5: frozenset((3, 4)), 6: frozenset((1, 2)),
}  # fmt: skip
_FLOOR_S = 0.5  # presses in the same half second: one gap of half a second (no log of zero)


@dataclass(frozen=True, slots=True)
class StaffModel:
    """The staff state's broad shape and the switch probabilities (per press)."""

    enter: float = 1e-3
    stay: float = 0.93
    others: float = 0.25
    pace_s: float = 20.0
    pace_spread: float = 0.8


def _log_normal(gap_s: float, median_s: float, spread: float) -> float:
    z = (math.log(gap_s) - math.log(median_s)) / spread
    return -0.5 * z * z - math.log(gap_s * spread * math.sqrt(2 * math.pi))


#: what is usual around one press, on one side of it: (share of each button, index 1..4;
#: presses per second)
Usual = tuple[Sequence[float], float]


def _honest(
    gap_s: float | None, button: int, sides: Sequence[Usual]
) -> tuple[float, Sequence[float], float]:
    """The honest log-likelihood of one press under the side that explains it best (the busier
    or more alike side wins, as in the scan: a change that stays is not a run), with that
    side's mix and rate."""
    best: tuple[float, Sequence[float], float] | None = None
    for mix, rate in sides:
        rate = max(rate, 1e-6)
        value = math.log(max(mix[button], 1e-9))
        if gap_s is not None:
            value += math.log(rate) - rate * gap_s
        if best is None or value > best[0]:
            best = (value, mix, rate)
    assert best is not None
    return best


def _emissions(
    gap_s: float | None, button: int, sides: Sequence[Usual], model: StaffModel
) -> list[float]:
    """Log-likelihood of one press under the honest state (index 0) and each staff key.

    Under a staff key a press is either the staff's own (one of the key's buttons, at the
    staff's pace) or a citizen's served meanwhile (``others``: the usual mix, the usual pace):
    a press of the key's button at a citizen's slow pace is a citizen's, not the staff's."""
    honest, mix, rate = _honest(gap_s, button, sides)
    row = [honest]
    o = model.others
    staff_gap = citizen_gap = 0.0
    if gap_s is not None:
        citizen_gap = math.log(rate) - rate * gap_s
        staff_gap = _log_normal(gap_s, model.pace_s, model.pace_spread)
    citizen = math.log(o * max(mix[button], 1e-9)) + citizen_gap
    for key in KEYS:
        members = MEMBERS[key]
        if button not in members:
            row.append(citizen)
            continue
        own = math.log((1 - o) / len(members)) + staff_gap
        high = max(own, citizen)
        row.append(high + math.log(math.exp(own - high) + math.exp(citizen - high)))
    return row


def decode(
    times_ms: Sequence[int],
    buttons: Sequence[int],
    usual: Sequence[Sequence[Usual]],
    model: StaffModel | None = None,
) -> list[int]:
    """The most likely state of every press: 0 honest, else the staff key (:data:`KEYS`).

    ``usual[i]``: what is usual around press ``i``, one entry per side (:func:`usual_around`)."""
    model = model or StaffModel()
    n = len(times_ms)
    if n == 0:
        return []
    states = len(KEYS) + 1
    enter = math.log(model.enter / len(KEYS))
    keep_honest = math.log(1 - model.enter)
    stay, leave = math.log(model.stay), math.log(1 - model.stay)
    score = [keep_honest] + [enter] * len(KEYS)
    back: list[list[int]] = []
    for i in range(n):
        gap = None if i == 0 else max((times_ms[i] - times_ms[i - 1]) / 1000, _FLOOR_S)
        row = _emissions(gap, buttons[i], usual[i], model)
        if i == 0:
            score = [s + e for s, e in zip(score, row, strict=True)]
            back.append([0] * states)
            continue
        from_staff = max(range(1, states), key=lambda s: score[s])
        stays = score[0] + keep_honest >= score[from_staff] + leave
        pointers = [0 if stays else from_staff]
        new = [max(score[0] + keep_honest, score[from_staff] + leave) + row[0]]
        for s in range(1, states):
            if score[s] + stay >= score[0] + enter:
                new.append(score[s] + stay + row[s])
                pointers.append(s)
            else:
                new.append(score[0] + enter + row[s])
                pointers.append(0)
        score = new
        back.append(pointers)
    path = [max(range(states), key=lambda s: score[s])]
    for i in range(n - 1, 0, -1):
        path.append(back[i][path[-1]])
    path.reverse()
    return [0 if s == 0 else KEYS[s - 1] for s in path]


def usual_around(
    times_ms: Sequence[int],
    buttons: Sequence[int],
    prior: Sequence[float],
    *,
    context_ms: int = 3_600_000,
    hole_ms: int = 600_000,
    prior_weight: float = 20.0,
    skip: Sequence[bool] | None = None,
) -> list[list[Usual]]:
    """What is usual around each press, one (mix, rate) per side: the presses ``context_ms``
    before and after it, starting ``hole_ms`` away (a stretch of staff presses must not explain
    itself), each side clipped to the device's first and last press and kept when at least a
    quarter of ``context_ms`` long; the mix pulled toward ``prior`` with ``prior_weight``
    presses. Presses marked in ``skip`` (a first decoding's staff presses) do not count. A press
    with no usable side gets the whole day."""
    kept = [(t, b) for i, (t, b) in enumerate(zip(times_ms, buttons, strict=True))
            if not (skip and skip[i])]  # fmt: skip
    kept_times = [t for t, _ in kept]
    counts = [[0] * 5]
    for _, b in kept:
        row = list(counts[-1])
        row[b] += 1
        counts.append(row)

    def side(lo_index: int, hi_index: int, seconds: float) -> Usual:
        total = hi_index - lo_index
        c = [counts[hi_index][b] - counts[lo_index][b] for b in range(5)]
        mix = [0.0] + [
            (c[b] + prior_weight * prior[b]) / (total + prior_weight) for b in range(1, 5)
        ]
        return mix, (total + 1) / max(seconds, 1.0)

    if not kept:
        return [[side(0, 0, 3600.0)] for _ in times_ms]
    first, last = kept_times[0], kept_times[-1]
    whole = side(0, len(kept), (last - first) / 1000)
    result: list[list[Usual]] = []
    for t in times_ms:
        sides = []
        for lo, hi in (
            (t - hole_ms - context_ms, t - hole_ms),
            (t + hole_ms, t + hole_ms + context_ms),
        ):
            lo, hi = max(lo, first), min(hi, last)
            if hi - lo >= context_ms / 4:
                a, b = bisect_left(kept_times, lo), bisect_right(kept_times, hi)
                sides.append(side(a, b, (hi - lo) / 1000))
        result.append(sides or [whole])
    return result


def staff_segments(
    states: Sequence[int], buttons: Sequence[int], min_presses: int
) -> list[tuple[int, int, int]]:
    """Decoded staff stretches as (key, first index, last index), each hugged to the first and
    last press of its key's buttons, kept when they hold at least ``min_presses`` of them."""
    found: list[tuple[int, int, int]] = []
    i, n = 0, len(states)
    while i < n:
        key = states[i]
        j = i
        while j + 1 < n and states[j + 1] == key:
            j += 1
        if key:
            own = [x for x in range(i, j + 1) if buttons[x] in MEMBERS[key]]
            if len(own) >= min_presses:
                found.append((key, own[0], own[-1]))
        i = j + 1
    return found


#: how decoded stretches meet the scan's one-button runs (module docstring)
MODES = ("only", "add", "replace", "extend", "trim", "veto")


def decoded(device: DeviceHistory, context: SiteContext, model: StaffModel,
            min_presses: int) -> list[tuple[int, int, int]]:  # fmt: skip
    """The device's staff stretches: decoded once, then again without the first one's staff
    presses in what is usual."""
    prior = context.prior_mix(device)
    usual = usual_around(device.times, device.buttons, prior)
    states = decode(device.times, device.buttons, usual, model)
    skip = [s != 0 for s in states]
    if any(skip):
        usual = usual_around(device.times, device.buttons, prior, skip=skip)
        states = decode(device.times, device.buttons, usual, model)
    return staff_segments(states, device.buttons, min_presses)


def _confirmed(device: DeviceHistory, context: SiteContext, model: StaffModel,
               rules: ReviewRules) -> list[Suspect]:  # fmt: skip
    """Decoded stretches that pass the scan's own test of a one-button run, as periods."""
    judge = runs._Judge(device, context, rules, ZoneInfo("Europe/Warsaw"), {})
    found = []
    for key, a, c in decoded(device, context, model, rules.run_min_presses):
        b_idx = [x for x, b in enumerate(device.buttons) if b in MEMBERS[key]]
        suspect = runs._suspect(judge, key, b_idx, b_idx.index(a), b_idx.index(c))
        if suspect is not None:
            found.append(suspect)
    return found


def _bounded(mode: str, suspect: Suspect, decoded_periods: list[Suspect]) -> Suspect | None:
    """A caught run's period with its boundaries from the decoded stretches it overlaps."""
    over = [d for d in decoded_periods
            if d.from_ms <= suspect.to_ms and suspect.from_ms <= d.to_ms]  # fmt: skip
    if not over:
        return suspect
    lo, hi = min(d.from_ms for d in over), max(d.to_ms for d in over)
    if mode == "extend":
        lo, hi = min(lo, suspect.from_ms), max(hi, suspect.to_ms)
    elif mode == "trim":
        lo, hi = max(lo, suspect.from_ms), min(hi, suspect.to_ms)
    return replace(suspect, from_ms=lo, to_ms=hi) if lo <= hi else None


def _unconfirmed(device: DeviceHistory, context: SiteContext, model: StaffModel,
                 rules: ReviewRules) -> list[Suspect]:  # fmt: skip
    """Every decoded stretch as a bare period (``veto``: a caught run no stretch overlaps is
    dropped)."""
    t, found = device.times, decoded(device, context, model, rules.run_min_presses)
    return [
        Suspect(device.device_id, "one_button_run", t[a], t[c], c - a + 1, "", device.site_id)
        for _, a, c in found
    ]


def _combined(mode: str, mine: list[Suspect], decoded_periods: list[Suspect]) -> list[Suspect]:
    if mode == "veto":
        return [s for s in mine if s.pattern != "one_button_run" or any(
            d.from_ms <= s.to_ms and s.from_ms <= d.to_ms for d in decoded_periods)]  # fmt: skip
    if mode == "only":
        return [s for s in mine if s.pattern != "one_button_run"] + decoded_periods
    if mode == "add":
        spans = [(s.from_ms, s.to_ms) for s in mine]
        return mine + [d for d in decoded_periods
                       if not any(a <= d.to_ms and d.from_ms <= b for a, b in spans)]  # fmt: skip
    kept = [s if s.pattern != "one_button_run" else _bounded(mode, s, decoded_periods)
            for s in mine]  # fmt: skip
    return [s for s in kept if s is not None]


def hmm_scanner(
    mode: str, model: StaffModel | None = None, run_probability: float | None = None
) -> Callable[[Sequence[ScanPress]], list[Suspect]]:
    """``scan`` with its one-button runs met by the decoded stretches in ``mode``
    (``run_probability``: the scan's and the confirmation's, else the default)."""
    chosen = model or StaffModel()
    rules = ReviewRules()
    if run_probability is not None:
        rules = replace(rules, run_probability=run_probability)
    book = ReviewBook(channels={**DEFAULT_REVIEW, "terminal": rules})

    def scanner(presses: Sequence[ScanPress]) -> list[Suspect]:
        base = scan(presses, book=book)
        context = periods._histories(presses)
        out: list[Suspect] = []
        for device in context.devices.values():
            mine = [s for s in base if s.device_id == device.device_id]
            if device.channel != "terminal" or len(device.times) < rules.run_min_presses:
                out.extend(mine)
                continue
            periods_of = _unconfirmed if mode == "veto" else _confirmed
            out.extend(_combined(mode, mine, periods_of(device, context, chosen, rules)))
        return out

    return scanner


def main() -> None:
    arguments = parser(__doc__ or "")
    arguments.add_argument("modes", nargs="*", default=list(MODES), help=f"any of {MODES}")
    options = arguments.parse_args()
    if unknown := set(options.modes) - set(MODES):
        arguments.error(f"unknown modes {sorted(unknown)}")
    seeds = TRAIN
    if options.quick:
        seeds = {"normal": TRAIN["normal"][:2], "busy_happy": TRAIN["busy_happy"][:1]}
    days = load_days(seeds)
    for name, scanner in [("scan", scan), *((m, hmm_scanner(m)) for m in options.modes)]:
        totals = run_days(days, scanner, quiet=True)
        normal, busy = totals["normal"], totals["busy_happy"]
        kinds = " / ".join(
            f"{normal[f'staff_inside:{k}'] / max(normal[f'staff:{k}'], 1):.3f}" for k in STYLE_KINDS
        )
        print(
            f"{name}: recall {normal['staff_inside'] / normal['staff']:.3f}, false flags "
            f"{100 * normal['honest_false'] / normal['honest']:.3f} % normal, "
            f"{100 * busy['honest_false'] / busy['honest']:.3f} % busy and very happy; by kind "
            f"{kinds} (train seeds {seeds})",
            flush=True,
        )


if __name__ == "__main__":
    main()
