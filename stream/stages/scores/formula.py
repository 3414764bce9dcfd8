"""Score arithmetic (contract): ``100 * mean((button - 1) / 3)``, counts per button, positive share.

Window scores are kept as four integer counts (mergeable, exact); the score is derived from them,
so a closed window's figures equal a recomputation from the stored presses count for count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from civicpulse.schemas.events import JudgedPress, ScoreEvent

__all__ = ["Counts", "Kind", "Scope", "ScopeKey", "WindowName", "scopes_of", "score_event"]

Scope = Literal["device", "site", "department", "question", "city"]
Kind = Literal["citizen", "employee"]
WindowName = Literal["15m", "1h", "1d"]
ScopeKey = tuple[Scope, str, Kind]


@dataclass(frozen=True, slots=True)
class Counts:
    """Counted presses per button (1 very unhappy .. 4 very happy). An aggregator's value."""

    n1: int = 0
    n2: int = 0
    n3: int = 0
    n4: int = 0

    @property
    def n(self) -> int:
        return self.n1 + self.n2 + self.n3 + self.n4

    @property
    def score(self) -> float | None:
        """``100 * mean((button - 1) / 3)``; None without presses."""
        n = self.n
        return None if n == 0 else 100.0 * (self.n2 + 2 * self.n3 + 3 * self.n4) / (3 * n)

    @property
    def positive_share(self) -> float | None:
        n = self.n
        return None if n == 0 else (self.n3 + self.n4) / n

    def add(self, button: int) -> Counts:
        if button == 1:
            return Counts(self.n1 + 1, self.n2, self.n3, self.n4)
        if button == 2:
            return Counts(self.n1, self.n2 + 1, self.n3, self.n4)
        if button == 3:
            return Counts(self.n1, self.n2, self.n3 + 1, self.n4)
        if button == 4:
            return Counts(self.n1, self.n2, self.n3, self.n4 + 1)
        raise ValueError(f"button must be 1..4, got {button!r}")

    def merge(self, other: Counts) -> Counts:
        return Counts(
            self.n1 + other.n1, self.n2 + other.n2, self.n3 + other.n3, self.n4 + other.n4
        )

    @classmethod
    def of(cls, buttons: Iterable[int]) -> Counts:
        counts = [0, 0, 0, 0, 0]
        for button in buttons:
            if button not in (1, 2, 3, 4):
                raise ValueError(f"button must be 1..4, got {button!r}")
            counts[button] += 1
        return cls(counts[1], counts[2], counts[3], counts[4])

    def to_list(self) -> list[int]:
        return [self.n1, self.n2, self.n3, self.n4]

    @classmethod
    def from_list(cls, values: list[int]) -> Counts:
        n1, n2, n3, n4 = values
        return cls(n1, n2, n3, n4)


def scopes_of(press: JudgedPress, city_id: str) -> list[ScopeKey]:
    """The scopes a counted press is scored in.

    Employee-question presses are scored in their own ``kind="employee"`` scopes, never mixed
    into citizen scores. A press with no question scheduled counts as citizen feedback and is
    left out of the question scope (it has no question to be scored under).
    """
    if press.verdict != "counted" or press.site_id is None or press.department_id is None:
        return []
    kind: Kind = press.question_kind or "citizen"
    keys: list[ScopeKey] = [
        ("device", press.device_id, kind),
        ("site", press.site_id, kind),
        ("department", press.department_id, kind),
        ("city", city_id, kind),
    ]
    if press.question_id is not None:
        keys.append(("question", press.question_id, kind))
    return keys


def score_event(
    key: ScopeKey, window: WindowName, start: datetime, end: datetime, counts: Counts
) -> ScoreEvent:
    scope, scope_id, kind = key
    return ScoreEvent(
        scope=scope,
        scope_id=scope_id,
        kind=kind,
        window=window,
        window_start=start,
        window_end=end,
        n=counts.n,
        n1=counts.n1,
        n2=counts.n2,
        n3=counts.n3,
        n4=counts.n4,
        score=counts.score,
        positive_share=counts.positive_share,
    )
