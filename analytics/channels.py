"""Channels side by side (pure): per department or site, each channel's responses, score and
share of the scope's responses, and the gaps between channels worth naming.

Rows come from :data:`civicpulse.analytics.quarterly.SERVICE_CHANNELS` (counted citizen presses per
department, site and channel, confirmed misuse left out). A gap is named when two channels of
one scope each have at least ``MIN_RESPONSES`` responses and their scores differ by more than
``GAP_POINTS`` points: below that many responses a score moves too much to compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from civicpulse.analytics.queries import positive_share_of, score_of
from civicpulse.analytics.report.figures import MIN_RESPONSES

__all__ = ["GAP_POINTS", "ChannelGap", "channel_gaps", "channel_items"]

#: score points between two channels of one scope above which the report names the gap
GAP_POINTS = 10.0
Level = Literal["department", "site"]


@dataclass(frozen=True)
class ChannelGap:
    scope_id: str
    higher: str
    higher_score: float
    lower: str
    lower_score: float

    @property
    def points(self) -> float:
        return self.higher_score - self.lower_score


def channel_items(
    rows: Sequence[tuple[str, str, str, int, int, int, int]], level: Level, scope_id: str = ""
) -> list[dict[str, Any]]:
    """``{scope, scope_id, channel, n, n1..n4, score, positive_share, share}`` per scope and
    channel (``share``: of the scope's responses), ordered by scope id and channel."""
    counts: dict[tuple[str, str], list[int]] = {}
    for department, site, channel, *buttons in rows:
        ident = department if level == "department" else site
        if scope_id and ident != scope_id:
            continue
        slot = counts.setdefault((ident, channel), [0, 0, 0, 0])
        for i, value in enumerate(buttons):
            slot[i] += int(value)
    totals: dict[str, int] = {}
    for (ident, _), c in counts.items():
        totals[ident] = totals.get(ident, 0) + sum(c)
    items = []
    for (ident, channel), (n1, n2, n3, n4) in sorted(counts.items()):
        n = n1 + n2 + n3 + n4
        items.append(
            {"scope": level, "scope_id": ident, "channel": channel, "n": n, "n1": n1, "n2": n2,
             "n3": n3, "n4": n4, "score": score_of(n1, n2, n3, n4),
             "positive_share": positive_share_of(n1, n2, n3, n4),
             "share": n / totals[ident] if totals[ident] else None}
        )  # fmt: skip
    return items


def channel_gaps(
    items: Sequence[dict[str, Any]], points: float = GAP_POINTS, min_n: int = MIN_RESPONSES
) -> list[ChannelGap]:
    """Per scope, the highest- and lowest-scoring channels with enough responses when their
    scores differ by more than ``points``; the widest gap first."""
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if item["n"] >= min_n and item["score"] is not None:
            by_scope.setdefault(item["scope_id"], []).append(item)
    gaps = []
    for ident, channels in by_scope.items():
        high = max(channels, key=lambda c: (c["score"], c["channel"]))
        low = min(channels, key=lambda c: (c["score"], c["channel"]))
        if high["score"] - low["score"] > points:
            gaps.append(
                ChannelGap(ident, high["channel"], high["score"], low["channel"], low["score"])
            )
    return sorted(gaps, key=lambda g: (-g.points, g.scope_id))
