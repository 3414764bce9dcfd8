"""Enrichment: resolve a press's device entry, site, department and question from the catalogue.

The catalogue's own lookups scan every device; the stream resolves millions of presses, so it
indexes the catalogue once by ``device_id`` (same semantics as ``Catalogue.device_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from civicpulse.schemas.catalogue import Catalogue, Device
from civicpulse.schemas.events import JudgedPress, PressEvent, Verdict

__all__ = ["CatalogueIndex", "QuestionKind", "ResolvedPress", "epoch_us", "judged", "resolve"]

QuestionKind = Literal["citizen", "employee"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(moment: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class CatalogueIndex:
    """The catalogue indexed for per-press lookups."""

    __slots__ = ("_by_device", "_kinds", "catalogue")

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        by_device: dict[str, list[Device]] = {}
        for device in catalogue.devices:
            by_device.setdefault(device.device_id, []).append(device)
        self._by_device = {key: tuple(entries) for key, entries in by_device.items()}
        self._kinds: dict[str, QuestionKind] = {q.question_id: q.kind for q in catalogue.questions}

    def device_at(self, device_id: str, at: datetime) -> Device | None:
        """The entry of ``device_id`` active at ``at`` (latest ``active_from`` wins)."""
        active = [d for d in self._by_device.get(device_id, ()) if d.is_active(at)]
        return max(active, key=lambda d: d.active_from) if active else None

    def question_kind(self, question_id: str | None) -> QuestionKind | None:
        return None if question_id is None else self._kinds.get(question_id)


@dataclass(frozen=True, slots=True)
class ResolvedPress:
    """A valid press plus what the catalogue says about it at ``pressed_at``.

    ``device`` is None when no catalogue entry is active then (anti-spam: unknown_device).
    Times are also given as integer microseconds, which is what anti-spam compares.
    """

    event: PressEvent
    device: Device | None
    question_id: str | None
    question_kind: QuestionKind | None
    pressed_us: int
    received_us: int

    @property
    def site_id(self) -> str | None:
        return self.device.site_id if self.device else None

    @property
    def department_id(self) -> str | None:
        return self.device.department_id if self.device else None


def resolve(event: PressEvent, index: CatalogueIndex) -> ResolvedPress:
    device = index.device_at(event.device_id, event.pressed_at)
    question_id = device.question_at(event.pressed_at) if device else None
    return ResolvedPress(
        event=event,
        device=device,
        question_id=question_id,
        question_kind=index.question_kind(question_id),
        pressed_us=epoch_us(event.pressed_at),
        received_us=epoch_us(event.received_at),
    )


def judged(press: ResolvedPress, verdict: Verdict) -> JudgedPress:
    """The JudgedPress of a resolved press and its verdict (the accepted/rejected value)."""
    # The event is already validated: construct without re-validating every field.
    return JudgedPress.model_construct(
        set(_JUDGED_FIELDS),
        **press.event.__dict__,
        verdict=verdict,
        site_id=press.site_id,
        department_id=press.department_id,
        question_id=press.question_id,
        question_kind=press.question_kind,
    )


_JUDGED_FIELDS = frozenset(JudgedPress.model_fields)
