"""Staff rating their own desk: behaviours drawn from parameters, not picked from a list.

A :class:`StaffStyle` is one person's way of doing it: the pace of their presses, how much the
gaps wander, how often they pick 4 rather than 3, how many presses make a run, how many runs
over the episode and how long they serve citizens between runs, and whether they work a busy
desk. :func:`draw_style` draws one from a seeded ``random.Random``: a long run at a walking
pace (one press every 10-60 s for 8-40 presses) or repeated short bursts (4-8 presses 6-14 s
apart, 2-6 times, 10-45 min apart, citizens served between), and everything in between.
:func:`staff_runs` expands a style into its runs of (offset ms, button) presses (the runs'
spans are the ground truth a benchmark scores periods against), :func:`staff_presses` into
the presses alone. The simulator's planner
places an episode at a random open hour on a desk chosen by popularity (``busy_desk``) or
uniformly; the misuse benchmark draws styles the same way for its injected episodes.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MIN_STAFF_GAP_MS", "StaffStyle", "draw_style", "staff_presses", "staff_runs"]

#: staff never press faster than this (a faster hand is the anti-spam filter's business)
MIN_STAFF_GAP_MS = 6_000


@dataclass(frozen=True)
class StaffStyle:
    """How one member of staff rates their own desk (see the module docstring)."""

    pace_s: float  # mean gap between two presses of a run
    jitter: float  # spread of a gap, as a share of the pace (0: a metronome)
    happy_share: float  # chance that a press is button 4 (else 3)
    run_presses: int  # presses in one run
    repetitions: int  # runs in the episode
    pause_min: float  # mean minutes between two runs (citizens served meanwhile)
    busy_desk: bool  # the desk is chosen by its popularity (else any open desk)

    def nominal_ms(self) -> int:
        """The episode's length at the mean pace and pause (to find a desk open that long)."""
        runs = self.repetitions * (self.run_presses - 1) * self.pace_s * 1000
        return int(runs + (self.repetitions - 1) * self.pause_min * 60_000)

    def detail(self) -> dict[str, Any]:
        return asdict(self)


def draw_style(rng: random.Random) -> StaffStyle:
    """One style: the number of runs first, then a pace and run length that fit it."""
    repetitions = 1 if rng.random() < 0.5 else rng.randint(2, 6)
    if repetitions == 1:
        pace, presses = rng.uniform(10, 60), rng.randint(8, 40)
    else:
        pace, presses = rng.uniform(6, 14), rng.randint(4, 8)
    return StaffStyle(
        pace_s=pace,
        jitter=rng.uniform(0.0, 0.6),
        happy_share=rng.uniform(0.5, 1.0),
        run_presses=presses,
        repetitions=repetitions,
        pause_min=rng.uniform(10, 45),
        busy_desk=rng.random() < 0.5,
    )


def staff_runs(style: StaffStyle, rng: random.Random) -> list[list[tuple[int, int]]]:
    """The runs of one episode, each a list of (offset ms from the episode start, button)."""
    runs: list[list[tuple[int, int]]] = []
    t = 0.0
    for run in range(style.repetitions):
        if run:
            t += rng.uniform(0.5, 1.5) * style.pause_min * 60_000
        presses: list[tuple[int, int]] = []
        for press in range(style.run_presses):
            if press:
                spread = style.jitter * style.pace_s * 1000
                gap = style.pace_s * 1000 + rng.uniform(-spread, spread)
                t += max(gap, MIN_STAFF_GAP_MS)
            presses.append((int(t), 4 if rng.random() < style.happy_share else 3))
        runs.append(presses)
    return runs


def staff_presses(style: StaffStyle, rng: random.Random) -> list[tuple[int, int]]:
    """(offset ms from the episode start, button) of every press of one episode."""
    return [press for run in staff_runs(style, rng) for press in run]
