"""Misuse review on staff scenarios written without the project's simulator (a second figure).

Nothing here comes from ``civicpulse.producers``: its own catalogue, citizens and staff, so
that thresholds tuned on the simulator are checked against behaviour they were not tuned on.

* Ten desks at two sites (five each, one department per site), open 08:00-16:00 Warsaw time,
  each with its own pace (a citizen every 20 s to 4 min: queue-like gamma gaps after a 6 s
  minimum, slower over lunch) and mood (very happy, happy, mixed, unhappy), the mood drifting
  hour by hour. Two days per desk: an honest day before, then the day with staff runs.
* Six kinds of staff runs, one of each on the second day, each at its own hour on a random
  desk, citizens still served around them: ``steady`` (button 4, fixed pace 15-40 s),
  ``jittered`` (4, gaps 10-75 s), ``bursts`` (4-6 short bursts of 5-7 presses of 4, 8-12 s apart,
  15-45 min apart over a morning), ``two_buttons`` (3 and 4 mixed), ``ramp`` (4, from a press a
  minute to one every 10 s), ``sabotage`` (button 1 on a colleague's desk).
* Seeds 101-110 (``--quick``: 101-103, the seeds of the first two rounds).

Every press goes through the stream's judge, then the scan. Figures: staff recall (staff
presses inside a suspect period, target >= 0.9) and honest presses flagged outside the staff
runs (inside a period but not between the first and last press of a staff run, or of one burst,
on that desk; target <= 0.5 %), plus the recall of each kind and the honest presses inside any
period for information.
"""

from __future__ import annotations

import io
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from civicpulse.analytics.review.offline import scanned
from civicpulse.analytics.review.periods import scan
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

from .common import Figure, parser, report

__all__ = ["KINDS", "QUICK_SEEDS", "SEEDS", "Scenario", "figures", "make_scenario", "measure"]

#: fixed before the third round's code was run on them: 101-103 since the first round,
#: 104-110 added in the third (more staff runs per kind: three seeds hold one of each)
SEEDS = tuple(range(101, 111))
QUICK_SEEDS = (101, 102, 103)
KINDS = ("steady", "jittered", "bursts", "two_buttons", "ramp", "sabotage")
DAY_ONE = datetime(2026, 11, 23, 7, tzinfo=UTC)  # Monday 08:00 in Warsaw
OPEN_MS = 8 * 3_600_000
PACES_S = (20, 30, 45, 60, 90, 120, 180, 240, 30, 20)
MOODS = {  # shares of buttons 1..4
    "very_happy": (0.02, 0.04, 0.19, 0.75),
    "happy": (0.05, 0.10, 0.35, 0.50),
    "mixed": (0.15, 0.20, 0.35, 0.30),
    "unhappy": (0.30, 0.30, 0.25, 0.15),
}


@dataclass
class Scenario:
    """Raw lines with their truth: label, device, press time; the staff runs' spans."""

    catalogue: Catalogue
    lines: list[bytes] = field(default_factory=list)
    truth: list[tuple[str, str, int]] = field(default_factory=list)
    runs: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def _catalogue() -> Catalogue:
    sites = [("north", "dept-north"), ("south", "dept-south")]
    since = "2026-01-01T00:00:00Z"
    return Catalogue.model_validate(
        {
            "departments": [{"department_id": d, "name": d} for _, d in sites],
            "sites": [{"site_id": s, "department_id": d, "name": s} for s, d in sites],
            "questions": [
                {
                    "question_id": "q-desk",
                    "kind": "citizen",
                    "text": {"pl": "Jak obsluga?", "en": "How was the service?"},
                }
            ],
            "devices": [
                {
                    "device_id": f"{s}-desk-{i}",
                    "channel": "terminal",
                    "site_id": s,
                    "department_id": d,
                    "active_from": since,
                    "questions": [{"question_id": "q-desk", "valid_from": since}],
                }
                for s, d in sites
                for i in range(5)
            ],
        }
    )


def _button(rng: random.Random, shares: tuple[float, ...]) -> int:
    return rng.choices((1, 2, 3, 4), shares)[0]


def _drift(rng: random.Random, mood: tuple[float, ...]) -> tuple[float, ...]:
    """An hour's mood: the day's mood with its happy side moved by up to 15 points."""
    shift = rng.uniform(-0.15, 0.15)
    happy, unhappy = mood[2] + mood[3], mood[0] + mood[1]
    shift = max(-happy + 0.05, min(unhappy - 0.02, shift))
    h, u = happy + shift, unhappy - shift
    return (mood[0] / unhappy * u, mood[1] / unhappy * u, mood[2] / happy * h, mood[3] / happy * h)


def _citizens(rng: random.Random, pace_s: float, mood: tuple[float, ...]) -> list[tuple[int, int]]:
    """(offset ms from opening, button) of one honest day at one desk."""
    out: list[tuple[int, int]] = []
    hourly = [_drift(rng, mood) for _ in range(8)]
    t = rng.uniform(0, 60_000)
    while t < OPEN_MS:
        hour = int(t // 3_600_000)
        out.append((int(t), _button(rng, hourly[hour])))
        mean = pace_s * (1.5 if hour == 4 else 1.0)  # lunch (12:00-13:00) is slower
        t += 6_000 + rng.gammavariate(2.0, max(mean - 6, 1) * 500)
    return out


def _every(
    rng: random.Random,
    gap: Callable[[], float],
    minutes: float,
    pick: Callable[[], int],
) -> list[list[tuple[int, int]]]:
    out: list[tuple[int, int]] = []
    t = 0.0
    while t < minutes * 60_000:
        out.append((int(t), pick()))
        t += gap()
    return [out]


def staff_run(kind: str, rng: random.Random) -> list[list[tuple[int, int]]]:
    """One staff run of a kind: its pieces (a burst each for ``bursts``, else one), each a list
    of (offset ms, button)."""

    def four() -> int:
        return 4

    if kind == "steady":
        pace = rng.uniform(15, 40) * 1000
        return _every(rng, lambda: pace + rng.uniform(-2000, 2000), rng.uniform(6, 14), four)
    if kind == "jittered":
        return _every(rng, lambda: rng.uniform(10_000, 75_000), rng.uniform(10, 20), four)
    if kind == "two_buttons":
        return _every(
            rng, lambda: rng.uniform(12_000, 40_000), rng.uniform(8, 14), lambda: rng.choice((3, 4))
        )
    if kind == "sabotage":
        return _every(rng, lambda: rng.uniform(10_000, 30_000), rng.uniform(5, 10), lambda: 1)
    if kind == "ramp":
        minutes, out, t = rng.uniform(8, 15), [], 0.0
        while t < minutes * 60_000:
            out.append((int(t), 4))
            t += 60_000 - 50_000 * t / (minutes * 60_000)
        return [out]
    if kind == "bursts":
        pieces, t = [], 0.0
        for _ in range(rng.randint(4, 6)):
            burst = []
            for _ in range(rng.randint(5, 7)):
                burst.append((int(t), 4))
                t += rng.uniform(8_000, 12_000)
            pieces.append(burst)
            t += rng.uniform(15, 45) * 60_000
        return pieces
    raise ValueError(f"unknown staff kind {kind!r}")


def _line(rng: random.Random, device: str, ms: int, button: int) -> bytes:
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    record = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "channel": "terminal",
        "device_id": device,
        "button": button,
        "pressed_at": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "received_at": (stamp + timedelta(milliseconds=200))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    return orjson.dumps(record)


def make_scenario(seed: int) -> Scenario:
    """Two days of ten desks; the second day holds one staff run of each kind."""
    rng = random.Random(f"independent-misuse:{seed}")
    catalogue = _catalogue()
    desks = [d.device_id for d in catalogue.devices]
    paces = list(PACES_S)
    moods = [MOODS[m] for m in ("very_happy", "happy", "mixed", "unhappy") for _ in range(3)][:10]
    rng.shuffle(paces)
    rng.shuffle(moods)
    moods[paces.index(20)] = MOODS["very_happy"]  # a busy and very happy desk in every seed
    rows: list[tuple[int, bytes, str, str]] = []
    day_ms = [int(DAY_ONE.timestamp() * 1000) + day * 86_400_000 for day in (0, 1)]
    for desk, pace, mood in zip(desks, paces, moods, strict=True):
        for opening in day_ms:
            for offset, button in _citizens(rng, pace, mood):
                rows.append(
                    (opening + offset, _line(rng, desk, opening + offset, button), "honest", desk)
                )
    scenario = Scenario(catalogue)
    hours = rng.sample(range(0, 7), len(KINDS))
    for kind, hour in zip(KINDS, hours, strict=True):
        desk = rng.choice(desks)
        start = day_ms[1] + hour * 3_600_000 + rng.randrange(0, 1_800_000)
        if kind == "bursts":
            start = day_ms[1] + rng.randrange(0, 1_800_000)  # over a morning
        for piece in staff_run(kind, rng):
            pressed = [start + offset for offset, _ in piece]
            scenario.runs.setdefault(desk, []).append((pressed[0], pressed[-1]))
            for ms, (_, button) in zip(pressed, piece, strict=True):
                rows.append((ms, _line(rng, desk, ms, button), f"staff_{kind}", desk))
    rows.sort(key=lambda r: r[0])
    scenario.lines = [r[1] for r in rows]
    scenario.truth = [(r[2], r[3], r[0]) for r in rows]
    return scenario


def measure(scenario: Scenario) -> Counter[str]:
    """Staff presses (per kind) inside a suspect period; honest presses inside one, and those
    outside every staff run of their desk."""
    judge = Judge(scenario.catalogue, RuleBook.defaults(), MemoryStore())
    suspects = scan(scanned(scenario.lines, judge, io.StringIO()), hours={})
    periods: dict[str, list[tuple[int, int]]] = {}
    for s in suspects:
        periods.setdefault(s.device_id, []).append((s.from_ms, s.to_ms))
    tally: Counter[str] = Counter()
    for label, desk, ms in scenario.truth:
        inside = any(a <= ms <= b for a, b in periods.get(desk, ()))
        if label == "honest":
            tally["honest"] += 1
            tally["honest_inside"] += inside
            in_run = any(a <= ms <= b for a, b in scenario.runs.get(desk, ()))
            tally["honest_false"] += inside and not in_run
        else:
            tally["staff"] += 1
            tally["staff_inside"] += inside
            tally[f"{label}"] += 1
            tally[f"{label}_inside"] += inside
    return tally


def figures(seeds: tuple[int, ...] = SEEDS, *, quiet: bool = False) -> list[Figure]:
    """The RESULT figures over ``seeds`` (each seed printed as it is measured unless
    ``quiet``); ``benchmarks/misuse.py`` prints them too, as its second family."""
    total: Counter[str] = Counter()
    for seed in seeds:
        tally = measure(make_scenario(seed))
        total.update(tally)
        kinds = ", ".join(f"{k} {tally[f'staff_{k}_inside']}/{tally[f'staff_{k}']}" for k in KINDS)
        if not quiet:
            print(
                f"independent seed {seed}: staff recall "
                f"{tally['staff_inside'] / tally['staff']:.3f} ({kinds}); honest flagged outside "
                f"staff runs {tally['honest_false']} of {tally['honest']}, inside any period "
                f"{tally['honest_inside']}",
                flush=True,
            )
    recall = total["staff_inside"] / total["staff"]
    false = total["honest_false"] / total["honest"]
    inside = total["honest_inside"] / total["honest"]
    found = [
        Figure("misuse_independent_staff_recall", recall, "share", ">= 0.9", recall >= 0.9),
        Figure(
            "misuse_independent_honest_false_flags",
            100 * false,
            "percent",
            "<= 0.5",
            false <= 0.005,
        ),
        Figure(
            "misuse_independent_honest_inside_periods", 100 * inside, "percent", "information", True
        ),
    ]
    for kind in KINDS:
        share = total[f"staff_{kind}_inside"] / max(total[f"staff_{kind}"], 1)
        found.append(
            Figure(f"misuse_independent_recall_{kind}", share, "share", "information", True)
        )
    return found


def main() -> None:
    options = parser(__doc__ or "").parse_args()
    report(figures(QUICK_SEEDS if options.quick else SEEDS))


if __name__ == "__main__":
    main()
