"""Misuse review on labelled simulated days: staff presses caught, honest presses flagged.

Days come from :mod:`benchmarks.misuse_days`: the simulator's demo city (its own staff
episodes, labelled ``staff_self_rating``) plus eight injected staff episodes a day, every
episode in a style drawn from parameters (pace, jitter, button mix, run length, repetitions,
hour, desk busyness), through the stream's judge, then ``civicpulse review scan``'s code.
Normal days: the simulator's desks (a citizen every 30 s at most). Busy and very happy days:
queues (a citizen every ~10 s at the busiest desks) and every desk lifted to about 85 % "very
happy", where runs of one button happen by chance most often.

Train/test split. ``TRAIN`` seeds are the only ones the thresholds were tuned on
(``benchmarks/misuse_tune.py``, the procedure in ``docs/review.md``); ``HELD_BACK`` seeds were
never looked at while tuning and are what this script reports (``--train``: the train seeds
instead, for the tuning itself). ``--quick``: the first two held-back normal days and the first
held-back busy and very happy day.

Figures (printed per day, then RESULT lines):

* recall: staff presses inside a suspect period, normal days (target >= 0.9); the baseline is
  the anti-spam filter's own recall on the same presses (what single-press rules catch);
* false flags: honest presses inside a suspect period but outside every staff run of their desk
  (a run: first to last press; target <= 0.5 %), normal days; the same on busy and very happy
  days as its own line (target <= 0.5 %), and their recall for information;
* honest presses inside any period, citizens served during a run included, for information;
* staff presses neutralised, normal days, for information: inside a period or rejected by the
  anti-spam filter (a rejected press never reaches a score, yet the recall counts it missed);
* the anti-spam filter's own blind spots, for information (:mod:`benchmarks.misuse_filter`);
* the second family, ``misuse_independent_*``: the same recall and false flags on staff
  scenarios written without the project's simulator (:mod:`benchmarks.misuse_scenarios`, seeds
  101-103 with ``--quick``, 101-110 without), never used for tuning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from civicpulse.analytics.review.periods import ScanPress, Suspect, scan
from civicpulse.simulator.staff import StaffStyle

from .common import Figure, parser, report
from .misuse_days import Day, make_day, scanned_presses
from .misuse_filter import filter_findings
from .misuse_scenarios import QUICK_SEEDS, SEEDS
from .misuse_scenarios import figures as independent_figures

__all__ = [
    "HELD_BACK",
    "STYLE_KINDS",
    "TRAIN",
    "LabelledDay",
    "figures",
    "load_days",
    "measure",
    "run_days",
    "style_kind",
]

#: seeds the thresholds were tuned on (7-12 and 4-5 added in the fourth round: six days had no
#: department degrading under a web widget, which fresh days showed)
TRAIN = {"normal": (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), "busy_happy": (1, 2, 3, 4, 5)}
#: seeds never used while tuning: the figures reported
HELD_BACK = {"normal": (1001, 1002, 1003, 1004, 1005, 1006), "busy_happy": (1001, 1002, 1003)}
HOURS = 8
RATE = {"normal": 0.3, "busy_happy": 1.5}

Scanner = Callable[[Sequence[ScanPress]], list[Suspect]]


@dataclass
class LabelledDay:
    """One day of the benchmark with the presses the scan sees (judged once, scanned often)."""

    kind: str
    seed: int
    day: Day
    presses: list[ScanPress]


def load_days(seeds: Mapping[str, Sequence[int]]) -> list[LabelledDay]:
    return [
        LabelledDay(kind, seed, day, scanned_presses(day))
        for kind, kind_seeds in seeds.items()
        for seed in kind_seeds
        for day in [make_day(seed, HOURS, RATE[kind], busy_happy=kind == "busy_happy")]
    ]


#: the kinds of staff style the recall is also given for (``style_kind``)
STYLE_KINDS = ("run_8_15", "run_16_40", "bursts_of_4", "bursts_of_5_8")


def style_kind(style: StaffStyle) -> str:
    """One run of 8-15 or 16-40 presses, or repeated bursts of 4 or of 5-8 presses."""
    if style.repetitions == 1:
        return "run_8_15" if style.run_presses <= 15 else "run_16_40"
    return "bursts_of_4" if style.run_presses == 4 else "bursts_of_5_8"


def _kind_of(day: Day, device: str, ms: int) -> str | None:
    for where, style, spans in day.episodes:
        if where == device and any(a <= ms <= b for a, b in spans):
            return style_kind(style)
    return None


def measure(day: Day, presses: Sequence[ScanPress], scanner: Scanner = scan) -> Counter[str]:
    """Staff presses inside a period (and those the filter rejected), also by kind of style
    (``staff:<kind>``, ``staff_inside:<kind>``); honest presses inside a period, and those
    inside one but outside every staff run of their desk."""
    suspects = scanner(presses)
    counted = {(p.device_id, p.at_ms) for p in presses}
    periods: dict[str, list[tuple[int, int]]] = {}
    for s in suspects:
        periods.setdefault(s.device_id, []).append((s.from_ms, s.to_ms))
    tally: Counter[str] = Counter()
    for label, device, ms in zip(day.labels, day.devices, day.pressed_ms, strict=True):
        if ms is None:
            continue
        inside = any(a <= ms <= b for a, b in periods.get(device, ()))
        if label.startswith("staff"):
            tally["staff"] += 1
            tally["staff_filtered"] += (device, ms) not in counted
            tally["staff_inside"] += inside
            tally["staff_neutralised"] += inside or (device, ms) not in counted
            kind = _kind_of(day, device, ms)
            tally[f"staff:{kind}"] += 1
            tally[f"staff_inside:{kind}"] += inside
        elif label == "honest":
            in_run = any(a <= ms <= b for a, b in day.runs.get(device, ()))
            tally["honest"] += 1
            tally["honest_inside"] += inside
            tally["honest_false"] += inside and not in_run
    return tally


def run_days(
    days: Sequence[LabelledDay], scanner: Scanner = scan, *, quiet: bool = False
) -> dict[str, Counter[str]]:
    """Totals per kind of day, each day printed as it is measured (unless ``quiet``)."""
    totals: dict[str, Counter[str]] = {"normal": Counter(), "busy_happy": Counter()}
    for labelled in days:
        tally = measure(labelled.day, labelled.presses, scanner)
        totals[labelled.kind].update(tally)
        if not quiet:
            print(
                f"{labelled.kind} day seed {labelled.seed}: staff recall "
                f"{tally['staff_inside'] / max(tally['staff'], 1):.3f} (filter alone "
                f"{tally['staff_filtered'] / max(tally['staff'], 1):.3f}), false flags "
                f"{tally['honest_false'] / tally['honest']:.4f}, honest inside any period "
                f"{tally['honest_inside'] / tally['honest']:.4f} ({dict(tally)})",
                flush=True,
            )
    return totals


def figures(totals: dict[str, Counter[str]]) -> list[Figure]:
    normal, busy = totals["normal"], totals["busy_happy"]
    recall = normal["staff_inside"] / normal["staff"]
    false_normal = normal["honest_false"] / normal["honest"]
    false_busy = busy["honest_false"] / busy["honest"]
    both = normal + busy
    inside = both["honest_inside"] / both["honest"]
    return [
        Figure(
            "misuse_staff_recall",
            recall,
            "share",
            ">= 0.9",
            recall >= 0.9,
            normal["staff_filtered"] / normal["staff"],
        ),
        Figure(
            "misuse_honest_false_flags",
            100 * false_normal,
            "percent",
            "<= 0.5",
            false_normal <= 0.005,
        ),
        Figure(
            "misuse_busy_happy_false_flags",
            100 * false_busy,
            "percent",
            "<= 0.5",
            false_busy <= 0.005,
        ),
        Figure(
            "misuse_busy_happy_staff_recall",
            busy["staff_inside"] / busy["staff"],
            "share",
            "information",
            True,
            busy["staff_filtered"] / busy["staff"],
        ),
        Figure("misuse_honest_inside_periods", 100 * inside, "percent", "information", True),
        # a staff press the anti-spam filter rejected never reached a score: neutralised too
        Figure(
            "misuse_staff_neutralised",
            normal["staff_neutralised"] / normal["staff"],
            "share",
            "information",
            True,
        ),
        # where the recall is lost: by kind of staff style, normal days
        *(
            Figure(
                f"misuse_staff_recall_{kind}",
                normal[f"staff_inside:{kind}"] / normal[f"staff:{kind}"],
                "share",
                "information",
                True,
            )
            for kind in STYLE_KINDS
            if normal[f"staff:{kind}"]
        ),
    ]


def main() -> None:
    arguments = parser(__doc__ or "")
    arguments.add_argument(
        "--train", action="store_true", help="the train seeds (tuning), not the held-back ones"
    )
    options = arguments.parse_args()
    seeds = TRAIN if options.train else HELD_BACK
    if options.quick:
        seeds = {"normal": seeds["normal"][:2], "busy_happy": seeds["busy_happy"][:1]}
    print(f"seeds ({'train' if options.train else 'held back'}): {seeds}", flush=True)
    totals = run_days(load_days(seeds))
    findings = filter_findings(range(5, 6) if options.quick else range(5, 8))
    # the second family: staff scenarios written without the project's simulator, never tuned on
    independent = [] if options.train else independent_figures(
        QUICK_SEEDS if options.quick else SEEDS)  # fmt: skip
    report(
        [
            *figures(totals),
            *independent,
            Figure(
                "antispam_staff_self_rating_rejected",
                findings.staff_rejected_share,
                "share",
                "information",
                True,
            ),
            # baseline: the same hours with quiet desks; ratio 1 = busy desks no worse
            Figure(
                "antispam_honest_burst_busy_desks",
                findings.honest_burst_busy,
                "presses",
                "information",
                True,
                findings.honest_burst_quiet,
            ),
        ]
    )


if __name__ == "__main__":
    main()
