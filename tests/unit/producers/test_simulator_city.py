"""The simulated city: sizes, catalogue contract, opening hours (DST-correct), moods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.simulator.city import HOURS, PRESETS, build_city, button_cdf, to_ms

START = datetime(2026, 11, 23, 7, tzinfo=UTC)  # a Monday, 08:00 in Warsaw


def _mean_button(mood: float) -> float:
    c1, c2, c3 = button_cdf(mood)
    return 1 * c1 + 2 * (c2 - c1) + 3 * (c3 - c2) + 4 * (1 - c3)


@pytest.mark.parametrize(
    ("name", "departments", "sites", "web", "devices"),
    [("demo", 4, 10, 4, (30, 40)), ("large", 12, 120, 96, (600, 600))],
)
def test_presets_have_the_promised_size(
    name: str, departments: int, sites: int, web: int, devices: tuple[int, int]
) -> None:
    city = build_city(PRESETS[name], START, timedelta(hours=1), seed=7)
    assert len(city.departments) == departments
    assert len(city.sites) == sites
    assert sum(d.role == "web" for d in city.devices) == web
    assert devices[0] <= len(city.devices) <= devices[1]
    assert len({d.device_id for d in city.devices}) == len(city.devices)


def test_catalogue_validates_and_round_trips_as_json() -> None:
    city = build_city(PRESETS["demo"], START, timedelta(hours=2), seed=3)
    catalogue = city.catalogue()
    again = Catalogue.model_validate_json(catalogue.model_dump_json())
    assert again == catalogue
    kinds = {q.question_id: q.kind for q in catalogue.questions}
    assert kinds["q-staff-day"] == "employee"
    by_id = {d.device_id: d for d in catalogue.devices}
    for device in city.devices:
        entry = by_id[device.device_id]
        first = entry.questions[0].question_id
        # The employee-mood question is asked on staff terminals only.
        assert (kinds[first] == "employee") == (device.role == "staff")
    # One department's desks switch question mid-run; nobody else's do.
    changed = [d for d in catalogue.devices if len(d.questions) > 1]
    assert changed and {d.department_id for d in changed} == {city.changed_department}
    assert all(d.questions[1].question_id == "q-waiting" for d in changed)
    assert city.start_ms < to_ms(changed[0].questions[1].valid_from) < city.end_ms
    # The retired terminal is in the catalogue but not active during the run.
    retired = by_id[city.retired_device]
    assert retired.retired_at is not None and not retired.is_active(START)


def test_same_seed_same_city_other_seed_other_city() -> None:
    a = build_city(PRESETS["demo"], START, timedelta(hours=1), seed=1)
    b = build_city(PRESETS["demo"], START, timedelta(hours=1), seed=1)
    c = build_city(PRESETS["demo"], START, timedelta(hours=1), seed=2)
    assert a.catalogue() == b.catalogue() and a.devices == b.devices
    assert a.devices != c.devices


@pytest.mark.parametrize(
    ("utc", "office", "early", "extended"),
    [
        ("2026-11-23T06:45:00Z", False, True, False),  # Mon 07:45 CET
        ("2026-11-23T07:00:00Z", True, True, True),  # Mon 08:00 CET
        ("2026-11-23T16:59:00Z", True, False, True),  # Mon 17:59: the long Monday
        ("2026-11-24T15:30:00Z", False, False, True),  # Tue 16:30
        ("2026-11-28T09:00:00Z", False, False, True),  # Sat 10:00
        ("2026-11-29T09:00:00Z", False, False, False),  # Sun
        ("2026-03-30T06:00:00Z", True, True, True),  # Mon 08:00 CEST (after the DST switch)
        ("2026-03-27T06:30:00Z", False, True, False),  # Fri 07:30 CET (before it)
    ],
)
def test_opening_hours_use_local_warsaw_time(
    utc: str, office: bool, early: bool, extended: bool
) -> None:
    city = build_city(PRESETS["demo"], START, timedelta(hours=1), seed=7)
    weekday, minute = city.local(to_ms(datetime.fromisoformat(utc)))
    assert HOURS["office"].is_open(weekday, minute) is office
    assert HOURS["early"].is_open(weekday, minute) is early
    assert HOURS["extended"].is_open(weekday, minute) is extended


def test_closed_terminals_weigh_nothing_web_always_something() -> None:
    city = build_city(PRESETS["demo"], START, timedelta(hours=1), seed=7)
    night = to_ms(datetime(2026, 11, 24, 1, tzinfo=UTC))
    for device, weight in zip(city.devices, city.weights(night), strict=True):
        assert (weight > 0) == (device.role == "web")
    day = city.weights(to_ms(datetime(2026, 11, 24, 9, tzinfo=UTC)))
    assert all(w > 0 for d, w in zip(city.devices, day, strict=True) if d.role == "desk")


def test_button_distribution_follows_mood() -> None:
    means = [_mean_button(m) for m in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    assert means == sorted(means) and means[0] < 1.5 and means[-1] > 3.5
    assert _mean_button(0.0) == pytest.approx(2.5)


def test_degraded_department_mood_drops_at_the_known_time() -> None:
    city = build_city(PRESETS["demo"], START, timedelta(hours=1), seed=7)
    assert city.start_ms < city.degrade_at_ms < city.end_ms
    degraded = [d for d in city.devices if d.department_id == city.degraded_department]
    other = [d for d in city.devices if d.department_id != city.degraded_department]
    before, after = city.degrade_at_ms - 1, city.degrade_at_ms
    for device in degraded:
        if device.role != "staff":  # employees' own mood question is not the service
            assert city.mood(device, after) < city.mood(device, before) - 2
    for device in other:
        # Same hour on both sides unless the degradation falls on an hour boundary.
        if before // 3_600_000 == after // 3_600_000:
            assert city.mood(device, after) == city.mood(device, before)


def test_degradation_can_start_at_a_chosen_moment_and_then_lowers_the_mood() -> None:
    city = build_city(
        PRESETS["demo"], START, timedelta(hours=8), seed=7, degrade_after=timedelta(seconds=15)
    )
    assert city.degrade_at_ms == to_ms(START) + 15_000
    assert city == build_city(
        PRESETS["demo"], START, timedelta(hours=8), seed=7, degrade_after=timedelta(seconds=15)
    )
    device = next(d for d in city.devices if d.department_id == city.degraded_department)
    before, after = city.mood(device, city.degrade_at_ms - 1), city.mood(device, city.degrade_at_ms)
    assert after < before - 2
