"""The retry schedule of one delivery: exponential back-off with jitter (pure).

Attempt ``k`` (1-based) that failed waits ``d/2 + jitter * d/2`` seconds before the next one,
where ``d = min(cap, base * 2 ** (k - 1))`` and ``jitter`` is uniform in [0, 1) ("equal jitter":
never less than half the exponential step, so a subscriber that is down gets fewer knocks, and
many deliveries failing at once spread out instead of retrying in lockstep).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy", "backoff_delay", "is_permanent"]


def backoff_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter is uniform in [0, 1)")
    # 2 ** 64 is far past any cap; the exponent is clamped so huge attempt numbers stay finite.
    step = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return step / 2 + jitter * step / 2


def is_permanent(status: int) -> bool:
    """Is an HTTP answer a refusal that another try cannot change? (4xx, but for timeouts,
    "too early" and rate limits, which say "later")."""
    return 400 <= status < 500 and status not in (408, 425, 429)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one delivery is tried before it is dead-lettered."""

    attempts: int = 8
    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        return backoff_delay(attempt, self.base, self.cap, (rng or random).random())
