"""The pure parts of the capacity benchmark (``e2e_latency.py``): the rate search, the step's
verdict (latency target held, backlog not growing) and the CPU accounting per press.

* ``RateSearch``: rates in steps (``LADDER``); ``--quick`` bisects the ladder from 1,000/s (at
  most three steps), the full run climbs it until the first step that fails (a curve).
* ``judge_step``: a step sustains its rate when press -> verdict p99 < 1 s over the whole step
  and the backlog (presses sent, not yet judged; sampled each second) does not grow: its
  least-squares slope over the steady part, times the steady seconds, stays under the presses
  of ``GROWTH_SECONDS`` at that rate. Batching makes the backlog saw-tooth by up to a batch
  window (0.2 s of presses); a pipeline past its capacity adds (rate - capacity) presses every
  second, which at 60 s shows as seconds of presses.
* CPU time from ``/proc/<pid>/stat`` (utime + stime, every thread of the process, plus its
  descendants'), in microseconds per press over the steady part of a step.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GROWTH_SECONDS",
    "LADDER",
    "RateSearch",
    "StepVerdict",
    "backlog_slope",
    "cores_needed",
    "judge_step",
    "parse_cpu_ticks",
    "parse_parent",
    "process_cpu_seconds",
    "tree_ticks",
    "us_per_press",
]

#: the rates tried, presses per second
LADDER: tuple[float, ...] = (250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0, 2000.0)
#: a step's backlog may grow by at most this many seconds of presses over its steady part
GROWTH_SECONDS = 0.5
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class RateSearch:
    """Which rate to try next. ``bisect``: the ladder between the highest rate that held and the
    lowest that failed, halved each step (start: ``start``); otherwise each rate from the
    bottom up until one fails. ``capacity`` is the highest rate that held (0: none did)."""

    ladder: Sequence[float] = LADDER
    bisect: bool = True
    start: float = 1000.0
    results: dict[float, bool] = field(default_factory=dict)

    def record(self, rate: float, held: bool) -> None:
        self.results[rate] = held

    @property
    def capacity(self) -> float:
        return max((r for r, held in self.results.items() if held), default=0.0)

    def _open(self) -> list[float]:
        """The untried rates above every rate that held and below every rate that failed."""
        failed = min((r for r, held in self.results.items() if not held), default=float("inf"))
        return [r for r in self.ladder if self.capacity < r < failed and r not in self.results]

    def next_rate(self) -> float | None:
        candidates = self._open()
        if not candidates:
            return None
        if not self.bisect:
            return candidates[0]
        if not self.results and self.start in candidates:
            return self.start
        return candidates[(len(candidates) - 1) // 2]


def backlog_slope(samples: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` samples (the backlog's presses per second from
    ``(seconds, backlog)``); 0 for fewer than two distinct x."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_b = sum(b for _, b in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (b - mean_b) for t, b in samples) / spread


@dataclass(frozen=True)
class StepVerdict:
    """Whether one step held its rate, and why not."""

    rate: float
    p99_ms: float
    growth: float  # presses the backlog grew by over the steady part (slope x seconds)
    missing: int  # presses with no verdict at the end of the drain
    held: bool
    reason: str
    stopped_early: bool = False

    @property
    def kept_up(self) -> bool:
        """Every press judged and the backlog flat: the step's CPU per press is the pipeline's
        cost at its rate, even when a stall put its p99 over the target."""
        return (
            not self.missing
            and not self.stopped_early
            and self.growth <= (self.rate * GROWTH_SECONDS)
        )


def judge_step(
    rate: float,
    p99_ms: float,
    backlog: Sequence[tuple[float, float]],
    missing: int,
    *,
    target_ms: float = 1000.0,
    stopped_early: bool = False,
) -> StepVerdict:
    """The verdict of a step from its p99, its backlog samples over the steady part (seconds
    from the steady part's start, presses) and the presses never judged."""
    seconds = backlog[-1][0] - backlog[0][0] if len(backlog) >= 2 else 0.0
    growth = backlog_slope(backlog) * seconds
    reasons = []
    if stopped_early:
        reasons.append("stopped early: the backlog ran away")
    if missing:
        reasons.append(f"{missing} presses without a verdict")
    if not p99_ms < target_ms:
        reasons.append(f"p99 {p99_ms:.0f} ms >= {target_ms:.0f} ms")
    if growth > rate * GROWTH_SECONDS:
        reasons.append(f"backlog grew by {growth:.0f} presses ({growth / rate:.1f} s of presses)")
    reason = "; ".join(reasons) or "held"
    return StepVerdict(rate, p99_ms, growth, missing, not reasons, reason, stopped_early)


def parse_cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks) from the text of ``/proc/<pid>/stat`` or a task's stat.

    The second field (the command name, in parentheses) may hold spaces and parentheses, so
    the fields are counted after the last ``)``: state is field 3, utime 14, stime 15.
    """
    rest = stat[stat.rindex(")") + 2 :].split()
    return int(rest[11]) + int(rest[12])


def parse_parent(stat: str) -> int:
    """The parent pid (field 4) from the text of ``/proc/<pid>/stat``."""
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _stats() -> dict[int, str]:
    """The stat text of every process now running."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "stat").read_text()
            except OSError:  # it ended meanwhile
                continue
    return found


def tree_ticks(root: int, stats: dict[int, str]) -> int:
    """utime + stime of ``root`` and of every descendant in ``stats`` (pid -> stat text)."""
    children: dict[int, list[int]] = {}
    for pid, text in stats.items():
        children.setdefault(parse_parent(text), []).append(pid)
    total, stack = 0, [root]
    while stack:
        current = stack.pop()
        if current in stats:
            total += parse_cpu_ticks(stats[current])
        stack.extend(children.get(current, ()))
    return total


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid``, every thread, and its living descendants."""
    return tree_ticks(pid, _stats()) / _CLOCK_TICKS


def us_per_press(cpu_seconds: float, presses: int) -> float:
    """CPU microseconds per press; NaN without presses."""
    return cpu_seconds * 1e6 / presses if presses else float("nan")


def cores_needed(us: float, rate: float) -> float:
    """Cores a process needs at ``rate`` presses/s when each press costs ``us`` CPU µs."""
    return us * rate / 1e6
