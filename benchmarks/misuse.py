"""Misuse review on labelled simulated days: staff presses caught, honest presses flagged.

Days come from :mod:`benchmarks.misuse_days`: the simulator's demo city (its own staff
episodes, labelled ``staff_self_rating``) plus injected staff behaviours (fixed pace, jittered
pace, bursts between citizens, several buttons), through the stream's judge, then
``civicpulse review scan``'s code. Normal days: a desk sees a citizen every 2 min or so; busy
days: queues, a citizen every ~10 s at the busiest desks, mostly happy.

Figures (several seeds each, printed per seed):

* recall: staff presses inside a suspect period, normal days (target >= 0.9); the baseline is
  the anti-spam filter's own recall on the same presses (what single-press rules catch);
* false flags: honest presses inside a suspect period that holds no staff press, all days
  (target <= 0.5 %);
* honest presses inside any suspect period, collateral of true periods included (the issue's
  literal figure, target <= 0.5 %): a confirmed period removes the citizens served during the
  run as well, so this grows with how common staff runs are and how busy the desk is;
* recall on busy days, for information (queues at 1 citizen / 10 s hide a run of 1 press /
  20 s; the busy days measure the false flags);
* the anti-spam filter's own blind spots, for information (:mod:`benchmarks.misuse_filter`):
  the share of the simulator's staff self-rating presses it rejects, and how many more honest
  presses it judges ``burst`` on busy desks than on quiet ones.
"""

from __future__ import annotations

from collections import Counter

from civicpulse.stream.review import scan

from .common import Figure, parser, report
from .misuse_days import Day, make_day, scanned_presses
from .misuse_filter import filter_findings


def _measure(day: Day) -> Counter[str]:
    presses = scanned_presses(day)
    suspects = scan(presses)
    counted = {(p.device_id, p.at_ms) for p in presses}
    periods: dict[str, list[tuple[int, int]]] = {}
    for s in suspects:
        periods.setdefault(s.device_id, []).append((s.from_ms, s.to_ms))
    staff_in_period: set[tuple[str, int, int]] = set()
    tally: Counter[str] = Counter()
    rows = list(zip(day.labels, day.devices, day.pressed_ms, strict=True))
    for label, device, ms in rows:
        if ms is None or not label.startswith("staff"):
            continue
        tally["staff"] += 1
        tally["staff_filtered"] += (device, ms) not in counted
        # every period holding a staff press is a true one (a 3-4 run overlapping a 4 run)
        holding = [(device, a, b) for a, b in periods.get(device, ()) if a <= ms <= b]
        tally["staff_inside"] += bool(holding)
        staff_in_period.update(holding)
    for label, device, ms in rows:
        if ms is None or label != "honest":
            continue
        tally["honest"] += 1
        hit = [(a, b) for a, b in periods.get(device, ()) if a <= ms <= b]
        tally["honest_inside"] += bool(hit)
        tally["honest_false"] += bool(hit) and all((device, a, b) not in staff_in_period
                                                  for a, b in hit)  # fmt: skip
    return tally


def main() -> None:
    arguments = parser(__doc__ or "").parse_args()
    normal_seeds = range(1, 3) if arguments.quick else range(1, 7)
    busy_seeds = range(1, 2) if arguments.quick else range(1, 4)
    hours = 8 if arguments.quick else 14
    normal: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    for busy_day, seeds, total in ((False, normal_seeds, normal), (True, busy_seeds, busy)):
        for seed in seeds:
            rate = 1.5 if busy_day else 0.3
            tally = _measure(make_day(seed, hours, rate, busy=busy_day))
            total.update(tally)
            print(
                f"{'busy' if busy_day else 'normal'} day seed {seed}: staff recall "
                f"{tally['staff_inside'] / tally['staff']:.3f} (filter alone "
                f"{tally['staff_filtered'] / tally['staff']:.3f}), honest inside "
                f"{tally['honest_inside'] / tally['honest']:.4f}, false flags "
                f"{tally['honest_false'] / tally['honest']:.4f} ({dict(tally)})",
                flush=True,
            )
    findings = filter_findings(range(5, 6) if arguments.quick else range(5, 8))
    both = normal + busy
    recall = normal["staff_inside"] / normal["staff"]
    false_flags = both["honest_false"] / both["honest"]
    inside = both["honest_inside"] / both["honest"]
    report(
        [
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
                100 * false_flags,
                "percent",
                "<= 0.5",
                false_flags <= 0.005,
            ),
            Figure(
                "misuse_honest_inside_periods", 100 * inside, "percent", "<= 0.5", inside <= 0.005
            ),
            Figure(
                "misuse_staff_recall_busy",
                busy["staff_inside"] / busy["staff"],
                "share",
                "information",
                True,
                busy["staff_filtered"] / busy["staff"],
            ),
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
