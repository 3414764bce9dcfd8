"""How much of the staff's pressing an oracle could tell from citizens (TRAIN seeds only).

For every staff episode of the train days (``benchmarks/misuse.py``, normal days), an oracle
that knows the exact span of each of the episode's runs counts the presses of one key (4, 3,
or the happy side 3-4, whichever is least likely) inside those spans and asks how likely that
many are at the desk's *honest* rate of the key in the hour on each side (staff presses left
out: what the scan cannot do). Poisson chance of the count after the first press of each run.

It bounds what a count test can do on these days: an episode whose oracle chance is above the
scan's ``run_probability`` cannot be told from a desk's own chance runs even by a scan that knew
where to look; an episode far below it that the scan misses is lost to the search (where,
how long) or to the expectation (the busier side, the neighbours), not to the data. Prints, by
level of chance, the share of staff presses whose episode an oracle reaches, and how many of
them the scan caught. Exploratory: not a target; the held-back seeds are never read here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from civicpulse.analytics.review.periods import scan
from civicpulse.analytics.review.stats import poisson_tail

from .common import parser
from .misuse import TRAIN, LabelledDay, load_days

__all__ = ["LEVELS", "oracle_chances"]

LEVELS = (1e-8, 1e-6, 1e-4, 2e-4, 1e-3, 1e-2)
_KEYS = ({4}, {3}, {3, 4})
_HOUR_MS = 3_600_000


def _chance(presses: Sequence[tuple[int, int, str]], spans: list[tuple[int, int]]) -> float:
    """The oracle's chance for one episode: ``presses`` are (ms, button, label) of its desk."""
    first, last = spans[0][0], spans[-1][1]
    day_from, day_to = presses[0][0], presses[-1][0]
    context_ms = (first - max(first - _HOUR_MS, day_from)) + (min(last + _HOUR_MS, day_to) - last)
    honest = [
        b for t, b, label in presses
        if label == "honest" and (first - _HOUR_MS <= t < first or last < t <= last + _HOUR_MS)
    ]  # fmt: skip
    length = sum(b - a for a, b in spans)
    best = 1.0
    for key in _KEYS:
        rate = (sum(b in key for b in honest) + 1) / max(context_ms, 60_000)
        seen = sum(b in key and any(a <= t <= z for a, z in spans) for t, b, _ in presses)
        best = min(best, poisson_tail(seen - len(spans), rate * length))
    return best


def oracle_chances(days: Sequence[LabelledDay]) -> list[tuple[float, int, int]]:
    """(oracle chance, staff presses scanned, of them inside a suspect period) per episode."""
    found: list[tuple[float, int, int]] = []
    for labelled in days:
        periods: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for suspect in scan(labelled.presses):
            periods[suspect.device_id].append((suspect.from_ms, suspect.to_ms))
        day = labelled.day
        label_of = {(d, ms): label for label, d, ms in
                    zip(day.labels, day.devices, day.pressed_ms, strict=True)}  # fmt: skip
        by_device: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for p in labelled.presses:
            by_device[p.device_id].append(
                (p.at_ms, p.button, label_of.get((p.device_id, p.at_ms), ""))
            )
        for device, _, spans in day.episodes:
            presses = by_device[device]
            staff = [t for t, _, label in presses if label.startswith("staff")
                     and any(a <= t <= b for a, b in spans)]  # fmt: skip
            if staff:
                caught = sum(any(a <= t <= b for a, b in periods[device]) for t in staff)
                found.append((_chance(presses, spans), len(staff), caught))
    return found


def main() -> None:
    parser(__doc__ or "").parse_args()
    chances = oracle_chances(load_days({"normal": TRAIN["normal"]}))
    total, caught = sum(c[1] for c in chances), sum(c[2] for c in chances)
    print(
        f"train normal days: {total} staff presses scanned, {caught / total:.3f} caught by the scan"
    )
    for level in LEVELS:
        reach = [c for c in chances if c[0] <= level]
        n, k = sum(c[1] for c in reach), sum(c[2] for c in reach)
        print(
            f"oracle chance <= {level:g}: {n / total:.3f} of the staff presses "
            f"({len(reach)} of {len(chances)} episodes), the scan caught {k / max(n, 1):.3f}"
        )


if __name__ == "__main__":
    main()
