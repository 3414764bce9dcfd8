"""The annual report's arithmetic as pure functions: scores, fair ranking, best/weakest lists,
year-over-year change, alert handling times, and when a figure rests on too few responses.

Nothing here touches the database or formats text: :mod:`civicpulse.analytics.report.gather`
gathers the
counts, :mod:`civicpulse.analytics.report.html` writes them down.

Fair ranking: a site's score is shrunk toward the city mean, ``(n * mean + k * city_mean) /
(n + k)`` with ``k = SHRINKAGE_K = 50`` presses: a site with 50 presses sits halfway between its
own mean and the city's, one with 1000 keeps ~95 % of its own. Sites with few presses can then
neither top nor bottom the ranking by luck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from civicpulse.stream.stages.scores.formula import Counts

__all__ = [
    "HEATMAP_MIN_CELLS",
    "LIST_SIZE",
    "MIN_RESPONSES",
    "SHRINKAGE_K",
    "ResolveStats",
    "best_and_weakest",
    "change",
    "counts_of",
    "heatmap_readable",
    "resolve_stats",
    "shrunk",
    "too_few",
]

SHRINKAGE_K = 50
#: a figure resting on fewer counted responses than this carries a "too few responses" note
MIN_RESPONSES = 30
#: the heat map is drawn only when at least this many hours of the week have MIN_CELL responses
HEATMAP_MIN_CELLS = 10
#: responses an hour-of-the-week cell needs to show its score (else it is drawn as "too few")
MIN_CELL = 10
#: at most this many sites in each of the "best" and "weakest" lists
LIST_SIZE = 5

T = TypeVar("T")


def shrunk(n: int, mean: float | None, city_mean: float, k: int = SHRINKAGE_K) -> float:
    """Bayesian shrinkage of a mean of ``n`` presses toward ``city_mean``."""
    return (n * (mean or 0.0) + k * city_mean) / (n + k)


def counts_of(n1: int, n2: int, n3: int, n4: int) -> dict[str, Any]:
    """Counts per button, their total and the contract score (``None`` with no response)."""
    counts = Counts(n1, n2, n3, n4)
    return {"n": counts.n, "n1": n1, "n2": n2, "n3": n3, "n4": n4, "score": counts.score}


def too_few(n: int) -> bool:
    return n < MIN_RESPONSES


def change(current: float | None, previous: float | None) -> float | None:
    """The difference against the previous year; ``None`` when either side has no figure."""
    if current is None or previous is None:
        return None
    return current - previous


def best_and_weakest(ranked: Sequence[T], size: int = LIST_SIZE) -> tuple[list[T], list[T]]:
    """The top and the bottom of a ranking (best first; weakest list weakest first).

    The two lists never share an entry: each holds at most half the ranking, so with one site
    both are empty and with three each holds one.
    """
    k = min(size, len(ranked) // 2)
    if k == 0:
        return [], []
    return list(ranked[:k]), list(reversed(ranked[-k:]))


@dataclass(frozen=True)
class ResolveStats:
    """How fast alerts were handled: opened in the year, resolved, and the times to resolve."""

    opened: int
    resolved: int
    still_open: int
    median_s: float | None
    longest_s: float | None


def resolve_stats(durations: Sequence[float | None]) -> ResolveStats:
    """One duration per alert opened (seconds to its resolution, ``None`` while still open)."""
    done = sorted(d for d in durations if d is not None)
    median: float | None = None
    if done:
        mid = len(done) // 2
        median = done[mid] if len(done) % 2 else (done[mid - 1] + done[mid]) / 2
    return ResolveStats(
        opened=len(durations),
        resolved=len(done),
        still_open=len(durations) - len(done),
        median_s=median,
        longest_s=done[-1] if done else None,
    )


def heatmap_readable(cells: Sequence[dict[str, Any]]) -> bool:
    """Whether a weekday x hour map says anything: enough hours with enough responses each."""
    return sum(1 for c in cells if c["n"] >= MIN_CELL) >= HEATMAP_MIN_CELLS
