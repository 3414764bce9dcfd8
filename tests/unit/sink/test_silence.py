"""Silent devices, pure: spans of the reference weeks (DST-correct), when a quiet device is
silent, one id per silence, back on the next press."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.analytics.silence import (
    DeviceActivity,
    SilenceRules,
    back_event,
    reference_spans,
    silent_event,
)

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # Monday 11:30 in Warsaw
RULES = SilenceRules(after=timedelta(minutes=30), weeks=3, min_weeks=2)


def device(last_press: datetime, weekly: list[int]) -> DeviceActivity:
    return DeviceActivity("desk-3", "town-hall", "civil", last_press, weekly)


def test_reference_spans_are_the_same_local_time_on_previous_weeks_across_dst() -> None:
    # 2026-04-06 is a Monday after the spring change (29 March): 11:30 local is 09:30 UTC then,
    # and 10:30 UTC three weeks earlier (winter time).
    now = datetime(2026, 4, 6, 9, 30, tzinfo=UTC)
    spans = reference_spans(now, WARSAW, RULES)
    assert [end.astimezone(WARSAW).strftime("%a %H:%M") for _, end in spans] == ["Mon 11:30"] * 3
    assert [end for _, end in spans] == [
        datetime(2026, 3, 30, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 23, 10, 30, tzinfo=UTC),
        datetime(2026, 3, 16, 10, 30, tzinfo=UTC),
    ]
    assert all(end - start == RULES.after for start, end in spans)


def test_a_desk_quiet_for_the_limit_that_pressed_then_on_two_weeks_is_silent() -> None:
    last = NOW - timedelta(minutes=47)
    event = silent_event(device(last, [5, 0, 7]), NOW, RULES)
    assert event is not None
    assert (event.kind, event.state, event.scope, event.scope_id, event.site_id) == (
        "silent_device",
        "opened",
        "device",
        "desk-3",
        "town-hall",
    )
    assert (event.window_start, event.window_end, event.at) == (last, NOW, NOW)
    assert (event.n, event.threshold, event.expected_presses) == (0, 30.0, 4.0)
    # the next check finds the same silence: the same alert
    again = silent_event(device(last, [5, 0, 7]), NOW + timedelta(minutes=1), RULES)
    assert again is not None and again.alert_id == event.alert_id


def test_not_silent_when_it_pressed_lately_was_quiet_before_or_the_site_is_closed() -> None:
    assert silent_event(device(NOW - timedelta(minutes=29), [5, 5, 5]), NOW, RULES) is None
    assert silent_event(device(NOW - timedelta(hours=2), [5, 0, 0]), NOW, RULES) is None
    quiet = device(NOW - timedelta(hours=2), [5, 5, 5])
    assert silent_event(quiet, NOW, RULES, open_now=False) is None
    assert silent_event(quiet, NOW, RULES, open_now=True) is not None


def test_back_on_the_next_press() -> None:
    opened = silent_event(device(NOW - timedelta(hours=1), [3, 3, 3]), NOW, RULES)
    assert opened is not None
    assert back_event(opened, None) is None
    assert back_event(opened, opened.window_start) is None  # the press it fell silent after
    back = back_event(opened, NOW + timedelta(minutes=5))
    assert back is not None
    assert (back.alert_id, back.state, back.at) == (
        opened.alert_id,
        "resolved",
        NOW + timedelta(minutes=5),
    )


def test_rules_refuse_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        SilenceRules(after=timedelta(0))
    with pytest.raises(ValueError, match="min_weeks"):
        SilenceRules(weeks=2, min_weeks=3)


@given(
    quiet_minutes=st.integers(0, 600),
    weekly=st.lists(st.integers(0, 20), min_size=3, max_size=3),
    open_now=st.sampled_from([None, True, False]),
)
def test_silent_exactly_when_quiet_long_enough_usually_busy_and_open(
    quiet_minutes: int, weekly: list[int], open_now: bool | None
) -> None:
    last = NOW - timedelta(minutes=quiet_minutes)
    event = silent_event(device(last, weekly), NOW, RULES, open_now=open_now)
    busy_weeks = sum(1 for count in weekly if count > 0)
    expected = quiet_minutes >= 30 and busy_weeks >= 2 and open_now is not False
    assert (event is not None) == expected
    if event is not None:
        assert event.expected_presses == pytest.approx(sum(weekly) / 3)


def test_opening_hours_come_from_the_catalogue_in_the_sites_zone() -> None:
    from civicpulse.analytics.silent_watch import opening_hours_of
    from civicpulse.schemas.catalogue import Catalogue

    catalogue = Catalogue.model_validate(
        {
            "departments": [{"department_id": "civil", "name": "Civil affairs"}],
            "sites": [
                {
                    "site_id": "town-hall",
                    "department_id": "civil",
                    "name": "Town hall",
                    "opening_hours": {"mon": ["08:00-16:00"]},
                },
                {"site_id": "annex", "department_id": "civil", "name": "Annex"},
            ],
        }
    )
    open_at = opening_hours_of(lambda: catalogue, "Europe/Warsaw")
    assert open_at("town-hall", NOW) is True  # Monday 11:30 in Warsaw
    assert open_at("town-hall", NOW + timedelta(hours=5)) is False  # 16:30
    assert open_at("annex", NOW) is None  # no hours known
    assert open_at("no-such-site", NOW) is None
