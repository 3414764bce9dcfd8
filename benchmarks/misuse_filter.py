"""What the single-press anti-spam filter misses, as figures (formerly asserted in
``tests/unit/producers/test_simulator_antispam.py``, issue 12 item 6).

Both are weaknesses of today's filter, not contract behaviour: a test asserting them would fail
the day the filter improves, so they are measured here instead and printed for information.

* staff self-rating rejected: a press every 10-30 s never trips the 5 s repeat gap nor the
  7-in-20 s burst, so only the presses that land near a citizen's are rejected (the misuse
  review's reason to exist);
* honest presses judged ``burst`` on busy desks vs quiet desks: the burst state ends only after
  a silence of ``burst_quiet`` (60 s), which a desk with a citizen every ~10 s never has.

Each figure: a simulated hour of the demo city through the replay code path (``Judge`` +
``MemoryStore`` + the default ``RuleBook``), labels matched to verdicts by the simulator's
evaluation.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import orjson

from civicpulse.simulator import generate as simulator
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.evaluate import Evaluation, evaluate
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.cli.replay import replay
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

__all__ = ["FilterFindings", "filter_findings", "judge_an_hour"]

START = datetime(2026, 11, 23, 7, tzinfo=UTC)


def judge_an_hour(seed: int) -> Evaluation:
    """One simulated hour (15 presses/s city-wide) judged as ``civicpulse replay`` judges it."""
    sim = Simulation(PRESETS["demo"], START, timedelta(hours=1), 15.0, seed)
    presses = list(sim.presses())
    lines = io.BytesIO(b"".join(p.line + b"\n" for p in presses))
    out = io.BytesIO()
    replay(lines, Judge(sim.catalogue(), RuleBook.defaults(), MemoryStore()), out)
    verdicts = [orjson.loads(line) for line in out.getvalue().splitlines()]
    labels = [
        {"line": n, "event_id": p.event_id, "label": p.label} for n, p in enumerate(presses, 1)
    ]
    return evaluate(labels, verdicts)


@contextmanager
def _busy_terminals(max_rate: float = 0.1) -> Iterator[None]:
    """Desks up to one citizen every 10 s (the simulator's default is one every 30 s)."""
    before = simulator.TERMINAL_MAX_RATE
    simulator.TERMINAL_MAX_RATE = max_rate
    try:
        yield
    finally:
        simulator.TERMINAL_MAX_RATE = before


class FilterFindings:
    """Totals over the seeds: staff presses and how many were rejected; honest `burst`s."""

    def __init__(self) -> None:
        self.staff = self.staff_rejected = 0
        self.honest_burst_quiet = self.honest_burst_busy = 0

    @property
    def staff_rejected_share(self) -> float:
        return self.staff_rejected / max(self.staff, 1)


def filter_findings(seeds: range) -> FilterFindings:
    found = FilterFindings()
    for seed in seeds:
        quiet = judge_an_hour(seed)
        with _busy_terminals():
            busy = judge_an_hour(seed)
        staff = quiet.total("staff_self_rating")
        found.staff += staff
        found.staff_rejected += round((quiet.rejected_share("staff_self_rating") or 0.0) * staff)
        found.honest_burst_quiet += quiet.by_label["honest"]["burst"]
        found.honest_burst_busy += busy.by_label["honest"]["burst"]
        print(
            f"filter seed {seed}: staff self-rating rejected "
            f"{quiet.rejected_share('staff_self_rating') or 0.0:.3f} of {staff}; honest presses "
            f"judged burst {quiet.by_label['honest']['burst']} (1/30 s desks) vs "
            f"{busy.by_label['honest']['burst']} (1/10 s desks)",
            flush=True,
        )
    return found
