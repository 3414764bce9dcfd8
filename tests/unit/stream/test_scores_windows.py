"""Score arithmetic, scopes, and window ranges (DST days in Europe/Warsaw)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.schemas.events import JudgedPress
from civicpulse.stream.stages.scores.formula import Counts, scopes_of, score_event
from civicpulse.stream.stages.scores.windows import (
    day_window,
    hour_window,
    rolling_windows,
    windows_of,
)

from .factory import T0, event

WARSAW = ZoneInfo("Europe/Warsaw")
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def test_score_examples() -> None:
    assert Counts.of([4]).score == 100.0
    assert Counts.of([1]).score == 0.0
    assert Counts.of([1, 2, 3, 4]).score == pytest.approx(50.0)
    counts = Counts.of([4, 4, 3, 1])
    assert (counts.n, counts.n1, counts.n3, counts.n4) == (4, 1, 1, 2)
    assert counts.positive_share == 0.75
    assert Counts().score is None and Counts().positive_share is None
    with pytest.raises(ValueError, match="button"):
        Counts.of([5])


@given(st.lists(st.integers(1, 4)), st.lists(st.integers(1, 4)))
def test_score_is_the_mean_and_counts_merge(a: list[int], b: list[int]) -> None:
    merged = Counts.of(a).merge(Counts.of(b))
    assert merged == Counts.of(a + b)
    folded = Counts()
    for button in a + b:
        folded = folded.add(button)
    assert folded == merged
    if a + b:
        exact = 100 * sum(Fraction(x - 1, 3) for x in a + b) / len(a + b)
        assert merged.score == pytest.approx(float(exact), abs=1e-9)
        assert merged.positive_share == sum(x >= 3 for x in a + b) / len(a + b)


def test_score_event_carries_counts_and_kind() -> None:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    ev = score_event(
        ("site", "s1", "employee"), "1h", start, start + timedelta(hours=1), Counts(1, 0, 0, 3)
    )
    assert (ev.kind, ev.n, ev.n4, ev.score, ev.positive_share) == ("employee", 4, 3, 75.0, 0.75)


def judged(
    verdict: str = "counted", kind: str | None = "citizen", question: str | None = "q1"
) -> JudgedPress:
    return JudgedPress.model_validate(
        {
            **event(T0).model_dump(),
            "verdict": verdict,
            "site_id": "s1",
            "department_id": "d1",
            "question_id": question,
            "question_kind": kind,
        }
    )


def test_scopes_keep_employee_questions_apart() -> None:
    assert scopes_of(judged(), "city") == [
        ("device", "t1", "citizen"),
        ("site", "s1", "citizen"),
        ("department", "d1", "citizen"),
        ("city", "city", "citizen"),
        ("question", "q1", "citizen"),
    ]
    assert {kind for _, _, kind in scopes_of(judged(kind="employee", question="qe"), "c")} == {
        "employee"
    }
    assert scopes_of(judged(verdict="repeat"), "c") == []
    assert ("question", "q1", "citizen") not in scopes_of(judged(question=None, kind=None), "c")


@given(moments)
def test_a_press_is_in_fifteen_rolling_windows(moment: datetime) -> None:
    windows = rolling_windows(moment)
    assert len(windows) == 15
    assert all(moment in w and w.end - w.start == timedelta(minutes=15) for w in windows)
    assert all(w.start.second == 0 and w.start.microsecond == 0 for w in windows)
    assert [w.start for w in windows] == sorted({w.start for w in windows})
    assert windows[-1].start <= moment < windows[0].start + timedelta(minutes=15)
    # no other minute-aligned window holds it
    assert moment not in type(windows[0])(
        windows[0].start - timedelta(minutes=1), windows[0].end - timedelta(minutes=1), "15m"
    )


@given(moments)
def test_hour_and_day_hold_the_moment_and_tile_time(moment: datetime) -> None:
    day, hour = day_window(moment, WARSAW), hour_window(moment, WARSAW)
    assert moment in day and moment in hour
    assert hour.end - hour.start == timedelta(hours=1)
    assert day.end - day.start in {timedelta(hours=h) for h in (23, 24, 25)}
    assert day_window(day.end, WARSAW).start == day.end  # consecutive days tile time
    assert day_window(day.start, WARSAW) == day
    assert day.start.astimezone(WARSAW).time().hour == 0
    assert moment.astimezone(WARSAW).date() == day.start.astimezone(WARSAW).date()


@pytest.mark.parametrize(
    ("local_day", "hours", "utc_start"),
    [
        ("2026-03-29", 23, datetime(2026, 3, 28, 23, tzinfo=UTC)),  # spring forward
        ("2026-10-25", 25, datetime(2026, 10, 24, 22, tzinfo=UTC)),  # fall back
        ("2026-07-01", 24, datetime(2026, 6, 30, 22, tzinfo=UTC)),
        ("2026-01-15", 24, datetime(2026, 1, 14, 23, tzinfo=UTC)),
    ],
)
def test_warsaw_days(local_day: str, hours: int, utc_start: datetime) -> None:
    noon = datetime.fromisoformat(f"{local_day}T12:00:00").replace(tzinfo=WARSAW)
    day = day_window(noon, WARSAW)
    assert day.start == utc_start
    assert day.end - day.start == timedelta(hours=hours)


def test_the_repeated_fall_back_hour_is_two_windows() -> None:
    # 2026-10-25: local 02:00-03:00 happens twice (00:00-01:00 and 01:00-02:00 UTC).
    first = hour_window(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), WARSAW)
    second = hour_window(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), WARSAW)
    assert (first.start, second.start) == (
        datetime(2026, 10, 25, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, tzinfo=UTC),
    )
    day = day_window(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), WARSAW)
    hours = {hour_window(day.start + timedelta(minutes=30 + 60 * k), WARSAW) for k in range(25)}
    assert len(hours) == 25


def test_windows_of_lists_every_window_once() -> None:
    moment = datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)  # 01:59:59 CET, before the jump
    names = [w.name for w in windows_of(moment, WARSAW)]
    assert names == ["15m"] * 15 + ["1h", "1d"]
    assert hour_window(moment, WARSAW).start == datetime(2026, 3, 29, 0, tzinfo=UTC)
