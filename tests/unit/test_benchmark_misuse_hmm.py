"""Staff segments (benchmarks/misuse_hmm.py): the fifth round's hidden Markov model of a desk's
day, tried and not kept (docs/review.md); its decoder stays as a documented experiment.

The decoder reads a device's presses as honest stretches (the desk's usual mix and pace) and
staff stretches (one button or one side at a short regular pace). Properties: a desk whose
citizens press at their usual mix, slower than a staff pace (a citizen every 1-4 min), decodes
to no staff segment; a long fast run of one button on such a desk decodes as one staff segment
of its button (or side) that holds the run and, where the citizens never press its side, no
citizen served before or after it. (Citizens every 30 s press at a staff pace: there the
decoder alone finds chance runs, which is why its stretches went through the scan's Poisson
test.)
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.misuse_hmm import decode, staff_segments, usual_around

HOUR_MS = 3_600_000
MIN_PRESSES = 8


def _citizens(
    rng: random.Random, mix: list[float], mean_gap_s: float, hours: float
) -> list[tuple[int, int]]:
    """Presses of a desk's citizens: exponential gaps (at least 2 s), buttons from ``mix``."""
    presses, t = [], 0.0
    while t < hours * HOUR_MS:
        t += max(2_000.0, rng.expovariate(1 / (mean_gap_s * 1000)))
        presses.append((int(t), rng.choices((1, 2, 3, 4), mix)[0]))
    return presses


def _segments(presses: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    times = [t for t, _ in presses]
    buttons = [b for _, b in presses]
    counts = [0.0] + [buttons.count(b) / len(buttons) for b in (1, 2, 3, 4)]
    usual = usual_around(times, buttons, counts)
    return staff_segments(decode(times, buttons, usual), buttons, MIN_PRESSES)


_MIX = (
    st.lists(st.floats(0.05, 1.0), min_size=4, max_size=4)
    .map(lambda w: [x / sum(w) for x in w])
    .filter(lambda m: max(m) <= 0.6)
)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), mix=_MIX, mean_gap_s=st.floats(60, 240))
def test_an_honest_day_decodes_to_no_staff_segment(
    seed: int, mix: list[float], mean_gap_s: float
) -> None:
    presses = _citizens(random.Random(seed), mix, mean_gap_s, hours=6)
    assert _segments(presses) == []


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    mean_gap_s=st.floats(60, 240),
    pace_s=st.floats(8, 30),
    length=st.integers(15, 40),
    button=st.sampled_from([1, 4]),
)
def test_a_long_fast_one_button_run_decodes_as_staff(
    seed: int, mean_gap_s: float, pace_s: float, length: int, button: int
) -> None:
    rng = random.Random(seed)
    # the citizens never press the run's side: whatever of its key is around the run is the run
    mix = [0.0, 0.0, 0.5, 0.5] if button == 1 else [0.5, 0.5, 0.0, 0.0]
    presses = _citizens(rng, mix, mean_gap_s, hours=6)
    start = 3 * HOUR_MS
    run, t = [], float(start)
    for _ in range(length):
        run.append((int(t), button))
        t += pace_s * 1000 * rng.uniform(0.8, 1.2)  # a human pace, 20 % jitter
    run_times = {t for t, _ in run}
    merged = sorted(presses + run)
    times = [t for t, _ in merged]
    found = [(key, times[a], times[b]) for key, a, b in _segments(merged)]
    on_run = [
        (key, a, b) for key, a, b in found if sum(a <= t <= b for t in run_times) >= 0.8 * length
    ]
    assert len(on_run) == 1, (found, min(run_times), max(run_times))
    key, a, b = on_run[0]
    assert key in (button, 6 if button == 1 else 5)
    # hugged: no citizen served just before or after the run falls inside
    around = [t for t, _ in presses if a <= t <= b and not min(run_times) <= t <= max(run_times)]
    assert around == [], (a, b, min(run_times), max(run_times), around)
