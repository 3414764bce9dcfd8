"""Tail probabilities for the misuse review (no SciPy: two sums in log space, exact enough).

``poisson_tail(k, mu)`` is the chance of at least ``k`` events when ``mu`` are expected;
``binomial_tail(k, n, p)`` the chance of at least ``k`` successes in ``n`` tries of chance ``p``.
Both are summed from the mode outward so tiny tails (1e-12) keep their digits.
``rhythm_chance(gaps, pool, seed)`` is the chance that as many gaps drawn from ``pool`` are at
least as even as ``gaps`` (a resampling test: staff keep a rhythm, citizens do not).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

__all__ = ["RHYTHM_DRAWS", "RHYTHM_MIN_POOL", "binomial_tail", "poisson_tail", "rhythm_chance"]

_STOP = 1e-17


def _sum_terms(first: int, last: int, log_term: Callable[[int], float]) -> float:
    peak = max(log_term(i) for i in (first, min(last, first + 1)))
    total, i = 0.0, first
    while i <= last:
        value = math.exp(log_term(i) - peak)
        total += value
        if value < _STOP * total and i > first + 2:
            break
        i += 1
    return total * math.exp(peak)


def poisson_tail(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    log_mu = math.log(mu)

    def log_term(i: int) -> float:
        return i * log_mu - mu - math.lgamma(i + 1)

    if k > mu:
        return min(1.0, _sum_terms(k, k + 10_000, log_term))
    below = sum(math.exp(log_term(i)) for i in range(k))
    return max(0.0, 1.0 - below)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)

    def log_term(i: int) -> float:
        return log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q

    if k > n * p:
        return min(1.0, _sum_terms(k, n, log_term))
    below = sum(math.exp(log_term(i)) for i in range(k))
    return max(0.0, 1.0 - below)


#: resamples per rhythm test, and the fewest reference gaps it needs (else: no evidence, 1.0)
RHYTHM_DRAWS = 400
RHYTHM_MIN_POOL = 10


def _spread(gaps: Sequence[float]) -> float:
    """Coefficient of variation: 0 for a metronome, about 1 for exponential gaps (by hand:
    ``statistics.pstdev`` sums exactly in fractions, far too slow for the resampling)."""
    n = len(gaps)
    mean = sum(gaps) / n
    variance = max(sum(g * g for g in gaps) / n - mean * mean, 0.0)
    return math.sqrt(variance) / max(mean, 1e-9)


def rhythm_chance(gaps: Sequence[int], pool: Sequence[int], seed: str) -> float:
    """Chance that ``len(gaps)`` gaps drawn at random from ``pool`` (the desk's own short gaps,
    citizens' pace) have a spread (coefficient of variation) at most that of ``gaps``.

    Drawn without replacement (a gap drawn twice would be a rhythm the desk never had).
    Deterministic for a given ``seed``; 1.0 (no evidence) with fewer than two gaps or fewer than
    ``RHYTHM_MIN_POOL`` (and twice as many as ``gaps``) reference gaps. The +1s make it a valid
    p-value of a resampling test."""
    if len(gaps) < 2 or len(pool) < max(RHYTHM_MIN_POOL, 2 * len(gaps)):
        return 1.0
    seen = _spread(gaps)
    rng = random.Random(seed)
    even = sum(_spread(rng.sample(pool, len(gaps))) <= seen for _ in range(RHYTHM_DRAWS))
    return (even + 1) / (RHYTHM_DRAWS + 1)
