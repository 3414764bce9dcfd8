"""Tail probabilities for the misuse review (no SciPy: two sums in log space, exact enough).

``poisson_tail(k, mu)`` is the chance of at least ``k`` events when ``mu`` are expected;
``binomial_tail(k, n, p)`` the chance of at least ``k`` successes in ``n`` tries of chance ``p``.
Both are summed from the mode outward so tiny tails (1e-12) keep their digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["binomial_tail", "poisson_tail"]

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
