"""Figures in words a reviewer reads at a glance: durations, chances, buttons, clock times."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

__all__ = ["BUTTONS", "chance", "clock", "duration", "share"]

BUTTONS = {1: "1 (very unhappy)", 2: "2 (unhappy)", 3: "3 (happy)", 4: "4 (very happy)"}


def duration(ms: float) -> str:
    """``95_000`` -> ``"1 min 35 s"``; ``7_200_000`` -> ``"2 h"``."""
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def chance(p: float) -> str:
    """A probability as "1 in N" (what a reviewer compares), with the number for the record."""
    if p <= 0:
        return "less than 1 in 10^300"
    if p >= 0.5:
        return f"{p:.0%}"
    return f"about 1 in {1 / p:,.0f} (p = {p:.1e})" if p > 1e-9 else f"p = {p:.1e}"


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def clock(ms: int, zone: tzinfo = UTC) -> str:
    """Local wall-clock time ``HH:MM:SS`` (UTC unless a zone is given)."""
    return datetime.fromtimestamp(ms / 1000, zone).strftime("%H:%M:%S")
