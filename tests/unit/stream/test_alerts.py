"""Alert state machine: open, no repeat, hysteresis, confidence mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.schemas.events import AlertEvent
from civicpulse.stream.stages.alerts.state_machine import (
    AlertBook,
    AlertRules,
    AlertState,
    step,
    upper_bound,
)
from civicpulse.stream.stages.scores.formula import Counts

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
RULES = AlertRules()
CONFIDENT = replace(RULES, mode="confidence")


def feed(windows: list[Counts], rules: AlertRules = RULES) -> list[AlertEvent | None]:
    state, out = AlertState(), []
    for k, counts in enumerate(windows):
        start = START + timedelta(minutes=k)
        state, ev = step(
            state,
            scope="department",
            scope_id="dep-a",
            department_id="dep-a",
            counts=counts,
            window_start=start,
            window_end=start + timedelta(minutes=15),
            at=start + timedelta(minutes=15),
            rules=rules,
        )
        out.append(ev)
    return out


def states(events: list[AlertEvent | None]) -> list[str | None]:
    return [None if e is None else e.state for e in events]


def test_opens_below_threshold_with_enough_presses_and_never_repeats() -> None:
    low = Counts(n1=3, n4=1)  # score 25, n 4
    assert states(feed([Counts(n1=3), low, low, Counts(n1=9)])) == [None, "opened", None, None]


def test_threshold_is_strict_and_min_presses_counts() -> None:
    exactly_50 = Counts(n1=2, n4=2)
    assert states(feed([exactly_50])) == [None]
    assert states(feed([Counts(n1=3)])) == [None]  # score 0 but only 3 presses


def test_resolves_only_above_threshold_plus_hysteresis() -> None:
    low = Counts(n1=4)
    at_60 = Counts(n1=1, n2=1, n3=1, n4=2)  # 100*(0+1+2+6)/15 = 60: not above 60
    one_happy = Counts(n4=1)  # above, but fewer than min_presses: not enough to resolve
    above = Counts(n4=4)
    events = feed([low, at_60, Counts(), one_happy, above, low])
    assert states(events) == ["opened", None, None, None, "resolved", "opened"]
    opened, resolved = events[0], events[4]
    assert opened is not None and resolved is not None
    assert resolved.alert_id == opened.alert_id
    assert (opened.score, opened.n, opened.threshold, opened.mode) == (0.0, 4, 50.0, "threshold")


def test_alert_ids_are_deterministic_for_replays() -> None:
    first, again = feed([Counts(n1=4)])[0], feed([Counts(n1=4)])[0]
    assert first is not None and again is not None and first.alert_id == again.alert_id


def test_confidence_mode_ignores_a_noisy_handful() -> None:
    handful = Counts(n1=2, n2=2)  # score 16.7 from four presses: upper bound ~57
    assert states(feed([handful])) == ["opened"]
    assert states(feed([handful], CONFIDENT)) == [None]
    assert states(feed([Counts(n1=4)], CONFIDENT)) == ["opened"]  # four of the worst: ~40
    assert states(feed([Counts(n1=10, n2=10)], CONFIDENT)) == ["opened"]


def test_upper_bound_examples() -> None:
    assert upper_bound(Counts()) is None
    assert upper_bound(Counts(n4=4)) == 100.0
    assert upper_bound(Counts(n1=4)) == pytest.approx(40.35, abs=0.01)
    assert upper_bound(Counts(n1=400)) == pytest.approx(0.67, abs=0.01)


def test_department_rules() -> None:
    book = AlertBook(departments={"strict": AlertRules(threshold=80)})
    assert book.for_department("strict").threshold == 80
    assert book.for_department("other") == RULES
    assert AlertState.from_dict(AlertState().to_dict()) == AlertState()


counts = st.builds(Counts, *(st.integers(0, 8) for _ in range(4)))


@given(st.lists(counts, max_size=60), st.sampled_from([RULES, CONFIDENT]))
def test_opens_and_resolves_alternate(windows: list[Counts], rules: AlertRules) -> None:
    seen = [e for e in feed(windows, rules) if e is not None]
    assert [e.state for e in seen] == ["opened", "resolved"] * (len(seen) // 2) + (
        ["opened"] if len(seen) % 2 else []
    )
    for e in seen:
        if e.state == "opened":
            assert e.n >= rules.min_presses and e.score < rules.threshold
        else:
            assert e.score > rules.threshold + rules.hysteresis


@given(st.lists(counts, max_size=40))
def test_confidence_mode_opens_only_where_the_raw_score_is_low(windows: list[Counts]) -> None:
    for c in windows:
        bound = upper_bound(c)
        if bound is not None and c.score is not None:
            assert bound >= c.score - 1e-9


def test_alert_book_from_toml_per_department() -> None:
    from civicpulse.stream.exceptions import RulesError
    from civicpulse.stream.stages.alerts.state_machine import AlertBook

    book = AlertBook.from_toml(
        '[default]\nmin_presses = 6\nmode = "confidence"\n[departments.roads]\nthreshold = 60\n'
    )
    assert book.for_department("roads") == AlertRules(
        threshold=60, min_presses=6, mode="confidence"
    )
    assert book.for_department("other") == AlertRules(min_presses=6, mode="confidence")
    for bad in (
        "[default]\nmode = 'loud'",
        "[default]\nthresold = 1",
        "[nope]",
        "[default]\nconfidence = 2.0",
    ):
        try:
            AlertBook.from_toml(bad)
        except RulesError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_the_watch_board_keeps_open_alerts_until_resolved() -> None:
    from civicpulse.stream.cli.alerts_watch import AlertBoard

    opened = feed([Counts(n1=4)])[0]
    assert opened is not None
    resolved = opened.model_copy(update={"state": "resolved", "score": 90.0})
    board = AlertBoard()
    board.add(opened)
    assert list(board.open) == [opened.alert_id]
    board.add(resolved)
    assert board.open == {} and list(board.recent) == [resolved, opened]
    board.render("alerts.all")  # renders without a terminal
