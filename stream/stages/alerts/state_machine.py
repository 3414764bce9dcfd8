"""Low-score alerts: a pure state machine per scope (department or site).

* opens when the rolling 15-min window has at least ``min_presses`` counted presses and
  - ``threshold`` mode: its score is below ``threshold`` (strictly);
  - ``confidence`` mode: even the upper confidence bound of its score is below ``threshold``,
    so a noisy handful of presses does not fire;
* no second alert while one is open;
* resolves when the score is strictly above ``threshold + hysteresis`` with at least
  ``min_presses`` presses (one happy press must not end an alert; a window without presses has
  no score and changes nothing: a desk that closes keeps its alert open).

The bound is the one-sided Wilson score bound on the mean press value ``(button - 1) / 3``
in [0, 1], scaled to 0..100. A [0, 1]-valued press with mean p has variance at most p(1 - p)
(Bhatia-Davis), so Wilson's Bernoulli-variance bound is conservative for scores; unlike a
Student-t bound it does not collapse to zero width when four presses are all alike.
"""

from __future__ import annotations

import math
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

from civicpulse.schemas.events import AlertEvent, ScoreEvent, format_utc
from civicpulse.stream.exceptions import RulesError
from civicpulse.stream.stages.scores.formula import Counts

__all__ = [
    "AlertBook",
    "AlertRules",
    "AlertState",
    "recognition",
    "step",
    "step_window",
    "upper_bound",
]

Mode = Literal["threshold", "confidence"]
AlertScope = Literal["department", "site"]
_NAMESPACE = uuid.UUID("6c1f3a52-8f0e-4c1e-9a55-3d2b7f0c9e11")


@dataclass(frozen=True, slots=True)
class AlertRules:
    threshold: float = 50.0
    min_presses: int = 4
    hysteresis: float = 10.0
    mode: Mode = "threshold"
    confidence: float = 0.95
    """One-sided confidence of the upper bound (confidence mode)."""
    recognition_threshold: float = 85.0
    """A city day's score at or above this is a recognition (above 100: never)."""
    recognition_min_presses: int = 30
    """Fewer counted presses in the day: no recognition (a handful of happy presses is luck)."""

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.min_presses < 1 or self.hysteresis < 0:
            raise ValueError("min_presses must be >= 1 and hysteresis >= 0")
        if self.recognition_min_presses < 1:
            raise ValueError("recognition_min_presses must be >= 1")


@dataclass(frozen=True, slots=True)
class AlertBook:
    """Alert rules per department (a site follows its department's rules)."""

    default: AlertRules = AlertRules()
    departments: Mapping[str, AlertRules] = field(default_factory=dict)

    def for_department(self, department_id: str) -> AlertRules:
        return self.departments.get(department_id, self.default)

    @classmethod
    def from_toml(cls, text: str, *, source: str = "alerts") -> AlertBook:
        """``[default]`` and ``[departments.<id>]`` tables of AlertRules fields; a field left
        out of a department takes the file's default."""
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{source}: not valid TOML ({exc})") from None
        unknown = sorted(set(document) - {"default", "departments"})
        if unknown:
            raise RulesError(
                f"{source}: unknown table(s) {unknown}; use [default], [departments.<id>]"
            )
        default = _alert_rules(AlertRules(), document.get("default", {}), f"{source}: default")
        departments = {
            department_id: _alert_rules(default, table, f"{source}: departments.{department_id}")
            for department_id, table in document.get("departments", {}).items()
        }
        return cls(default, departments)

    @classmethod
    def load(cls, path: Path | None) -> AlertBook:
        if path is None:
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(f"cannot read alert rules file {path}: {exc.strerror}") from None
        return cls.from_toml(text, source=str(path))


_ALERT_KEYS = (
    "threshold",
    "min_presses",
    "hysteresis",
    "mode",
    "confidence",
    "recognition_threshold",
    "recognition_min_presses",
)


def _alert_rules(base: AlertRules, table: Any, where: str) -> AlertRules:
    if not isinstance(table, dict):
        raise RulesError(f"[{where}] must be a table")
    unknown = sorted(set(table) - set(_ALERT_KEYS))
    if unknown:
        raise RulesError(f"[{where}]: unknown key(s) {unknown}; known: {list(_ALERT_KEYS)}")
    if table.get("mode", base.mode) not in ("threshold", "confidence"):
        raise RulesError(f'[{where}] mode must be "threshold" or "confidence"')
    try:
        return replace(base, **table)
    except (TypeError, ValueError) as exc:
        raise RulesError(f"[{where}] {exc}") from None


@dataclass(frozen=True, slots=True)
class AlertState:
    """The open alert of one scope, if any."""

    alert_id: uuid.UUID | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"alert_id": None if self.alert_id is None else str(self.alert_id)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertState:
        value = data.get("alert_id")
        return cls(None if value is None else uuid.UUID(value))


def upper_bound(counts: Counts, confidence: float = 0.95) -> float | None:
    """One-sided upper confidence bound of the score (0..100); None without presses."""
    n, score = counts.n, counts.score
    if score is None:
        return None
    p = score / 100.0
    z = NormalDist().inv_cdf(confidence)
    z2n = z * z / n
    centre = p + z2n / 2
    spread = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return min(100.0, 100.0 * (centre + spread) / (1 + z2n))


def _fires(counts: Counts, rules: AlertRules) -> bool:
    if counts.n < rules.min_presses or counts.score is None:
        return False
    if rules.mode == "threshold":
        return counts.score < rules.threshold
    bound = upper_bound(counts, rules.confidence)
    return bound is not None and bound < rules.threshold


def step(
    state: AlertState,
    *,
    scope: AlertScope,
    scope_id: str,
    department_id: str,
    counts: Counts,
    window_start: datetime,
    window_end: datetime,
    at: datetime,
    rules: AlertRules,
) -> tuple[AlertState, AlertEvent | None]:
    """Feed one rolling-window figure of a scope; returns the new state and any event."""
    score = counts.score
    what: Literal["opened", "resolved"]
    if state.alert_id is None:
        if not _fires(counts, rules) or score is None:
            return state, None
        # Deterministic id: replaying the same windows yields the same alert (idempotent sink).
        key = f"{scope}:{scope_id}:{rules.mode}:{format_utc(window_start)}"
        alert_id = uuid.uuid5(_NAMESPACE, key)
        next_state, what = AlertState(alert_id), "opened"
    elif (
        score is not None
        and counts.n >= rules.min_presses
        and score > rules.threshold + rules.hysteresis
    ):
        alert_id, next_state, what = state.alert_id, AlertState(), "resolved"
    else:
        return state, None
    event = AlertEvent(
        alert_id=alert_id,
        state=what,
        scope=scope,
        scope_id=scope_id,
        department_id=department_id,
        mode=rules.mode,
        score=score,
        n=counts.n,
        threshold=rules.threshold,
        window_start=window_start,
        window_end=window_end,
        at=at,
    )
    return next_state, event


def step_window(
    state: AlertState, score: ScoreEvent, *, department_id: str, rules: AlertRules
) -> tuple[AlertState, AlertEvent | None] | None:
    """Feed one closed rolling 15-min ScoreEvent; None when the score is not alerted on.

    Alerts watch citizen scores of departments and sites only (employee mood never alerts).
    """
    if score.window != "15m" or score.kind != "citizen":
        return None
    if score.scope == "department":
        scope: AlertScope = "department"
    elif score.scope == "site":
        scope = "site"
    else:
        return None
    return step(
        state,
        scope=scope,
        scope_id=score.scope_id,
        department_id=department_id,
        counts=Counts(score.n1, score.n2, score.n3, score.n4),
        window_start=score.window_start,
        window_end=score.window_end,
        at=score.window_end,
        rules=rules,
    )


def recognition(score: ScoreEvent, *, department_id: str, rules: AlertRules) -> AlertEvent | None:
    """A recognition for a closed city-day citizen score of a department or site at or above
    ``recognition_threshold`` with at least ``recognition_min_presses`` presses, else None.

    Stateless: one day closes once, and the id is derived from the scope and the day, so a
    re-emitted day yields the same event (the sink stores it once, delivery sends it once).
    """
    if score.window != "1d" or score.kind != "citizen" or score.score is None:
        return None
    if score.scope not in ("department", "site"):
        return None
    if score.n < rules.recognition_min_presses or score.score < rules.recognition_threshold:
        return None
    key = f"recognition:{score.scope}:{score.scope_id}:{format_utc(score.window_start)}"
    return AlertEvent(
        alert_id=uuid.uuid5(_NAMESPACE, key),
        state="opened",
        kind="recognition",
        scope="department" if score.scope == "department" else "site",
        scope_id=score.scope_id,
        department_id=department_id,
        mode="threshold",
        score=score.score,
        n=score.n,
        threshold=rules.recognition_threshold,
        window_start=score.window_start,
        window_end=score.window_end,
        at=score.window_end,
    )
