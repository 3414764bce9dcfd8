"""The device catalogue (contract) and the lookups every stage makes in it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from civicpulse.schemas.events import Channel

__all__ = [
    "Catalogue",
    "Department",
    "Device",
    "OpeningHours",
    "Question",
    "QuestionSchedule",
    "QuestionText",
    "Site",
    "Standard",
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class QuestionSchedule(_Entry):
    question_id: str
    valid_from: AwareDatetime


class Device(_Entry):
    device_id: str = Field(min_length=1)
    channel: Channel
    site_id: str
    department_id: str
    questions: tuple[QuestionSchedule, ...] = ()
    active_from: AwareDatetime
    retired_at: AwareDatetime | None = None

    def is_active(self, at: datetime) -> bool:
        """Active: ``active_from <= at`` and, where set, ``at < retired_at``."""
        return self.active_from <= at and (self.retired_at is None or at < self.retired_at)

    def question_at(self, at: datetime) -> str | None:
        """The schedule entry with the latest ``valid_from <= at``."""
        current: QuestionSchedule | None = None
        for entry in self.questions:
            if entry.valid_from <= at and (
                current is None or entry.valid_from >= current.valid_from
            ):
                current = entry
        return current.question_id if current else None


_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(span: str) -> tuple[int, int]:
    match = _SPAN.match(span)
    if match is None:
        raise ValueError(
            f'opening span {span!r}: use "HH:MM-HH:MM" (local time), e.g. "08:00-16:00"'
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start or end > 24 * 60:
        raise ValueError(f"opening span {span!r}: the end must come after the start, same day")
    return start, end


class OpeningHours(_Entry):
    """Optional, local opening hours of a site (an extension: catalogues without it stay valid).

    ``{"timezone": "Europe/Warsaw", "mon": ["08:00-18:00"], "tue": ["08:00-12:00", "13:00-16:00"]}``
    (keys mon..sun); a weekday left out is closed; ``timezone`` left out: the city's time zone.
    """

    timezone: str | None = None
    mon: tuple[str, ...] = ()
    tue: tuple[str, ...] = ()
    wed: tuple[str, ...] = ()
    thu: tuple[str, ...] = ()
    fri: tuple[str, ...] = ()
    sat: tuple[str, ...] = ()
    sun: tuple[str, ...] = ()

    @field_validator(*WEEKDAYS)
    @classmethod
    def _spans(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for span in value:
            _minutes(span)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}, e.g. Europe/Warsaw") from None
        return value

    def zone(self, default: str) -> tzinfo:
        return ZoneInfo(self.timezone or default)

    def spans(self, weekday: int) -> list[tuple[int, int]]:
        """(open minute, close minute) spans of a weekday (Monday = 0), local time."""
        return [_minutes(span) for span in getattr(self, WEEKDAYS[weekday])]

    def is_open(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute + local.second / 60
        return any(a <= minute < b for a, b in self.spans(local.weekday()))


class Site(_Entry):
    site_id: str
    department_id: str
    name: str
    opening_hours: OpeningHours | None = None


class Department(_Entry):
    department_id: str
    name: str


class QuestionText(_Entry):
    pl: str
    en: str


class Question(_Entry):
    question_id: str
    text: QuestionText
    kind: Literal["citizen", "employee"]


class Standard(_Entry):
    """A service standard (contract "Service standards" in DESIGN.md).

    ``{"scope": "department", "id": "d-civil", "question": null, "target_score": 75,
    "min_responses_per_day": 30, "from": "2026-01-01"}``: from the city day ``from`` on (until an
    entry of the same scope, id and question with a later ``from``), the scope aims for a daily
    score of at least ``target_score`` over at least ``min_responses_per_day`` counted presses.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    scope: Literal["department", "site"]
    id: str = Field(min_length=1)
    question: str | None = None
    target_score: float = Field(ge=0, le=100)
    min_responses_per_day: int = Field(ge=0)
    valid_from: date = Field(alias="from")

    @property
    def target_key(self) -> tuple[str, str, str | None]:
        """What the standard measures: (scope, id, question); entries differ by ``from`` only."""
        return (self.scope, self.id, self.question)


class Catalogue(_Entry):
    devices: tuple[Device, ...] = ()
    sites: tuple[Site, ...] = ()
    departments: tuple[Department, ...] = ()
    questions: tuple[Question, ...] = ()
    standards: tuple[Standard, ...] = ()

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalogue:
        departments = {d.department_id for d in self.departments}
        sites = {s.site_id for s in self.sites}
        questions = {q.question_id for q in self.questions}
        problems: list[str] = []
        for site in self.sites:
            if departments and site.department_id not in departments:
                problems.append(f"site {site.site_id}: unknown department {site.department_id}")
        for device in self.devices:
            if sites and device.site_id not in sites:
                problems.append(f"device {device.device_id}: unknown site {device.site_id}")
            for entry in device.questions:
                if questions and entry.question_id not in questions:
                    problems.append(
                        f"device {device.device_id}: unknown question {entry.question_id}"
                    )
        problems.extend(self._standard_problems(departments, sites))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _standard_problems(self, departments: set[str], sites: set[str]) -> list[str]:
        kinds = {q.question_id: q.kind for q in self.questions}
        known = {"department": departments, "site": sites}
        problems: list[str] = []
        seen: set[tuple[str, str, str | None, date]] = set()
        for standard in self.standards:
            label = f"standard {standard.scope} {standard.id}"
            if standard.id not in known[standard.scope]:
                problems.append(f"{label}: unknown {standard.scope} {standard.id}")
            if standard.question is not None and kinds.get(standard.question) != "citizen":
                problems.append(f"{label}: {standard.question} is not a citizen question")
            key = (*standard.target_key, standard.valid_from)
            if key in seen:
                problems.append(f"{label}: two entries from {standard.valid_from}")
            seen.add(key)
        return problems

    def entries_of(self, device_id: str) -> Sequence[Device]:
        return [d for d in self.devices if d.device_id == device_id]

    def device_at(self, device_id: str, at: datetime) -> Device | None:
        """The catalogue entry of ``device_id`` active at ``at`` (latest ``active_from`` wins)."""
        active = [d for d in self.entries_of(device_id) if d.is_active(at)]
        return max(active, key=lambda d: d.active_from) if active else None

    def question_kind(self, question_id: str | None) -> Literal["citizen", "employee"] | None:
        for question in self.questions:
            if question.question_id == question_id:
                return question.kind
        return None
