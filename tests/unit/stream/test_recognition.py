"""Recognition: a city day at or above its department's recognition threshold, with enough
presses, is one positive alert event, the same one however often the day is emitted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.schemas.events import ScoreEvent
from civicpulse.stream.exceptions import RulesError
from civicpulse.stream.stages.alerts.state_machine import AlertBook, AlertRules, recognition

DAY = datetime(2026, 3, 1, 23, tzinfo=UTC)  # a Warsaw day starts at 23:00 UTC in winter
RULES = AlertRules(recognition_threshold=85.0, recognition_min_presses=30)


def day_score(n4: int, n1: int = 0, **overrides: object) -> ScoreEvent:
    n = n1 + n4
    fields: dict[str, object] = {
        "scope": "site",
        "scope_id": "town-hall",
        "window": "1d",
        "window_start": DAY,
        "window_end": DAY + timedelta(days=1),
        "n": n,
        "n1": n1,
        "n2": 0,
        "n3": 0,
        "n4": n4,
        "score": None if n == 0 else 100 * n4 / n,
        "positive_share": None if n == 0 else n4 / n,
    }
    fields.update(overrides)
    return ScoreEvent.model_validate(fields)


def test_a_good_day_is_one_recognition_with_its_figures() -> None:
    event = recognition(day_score(n4=34, n1=4), department_id="civil", rules=RULES)
    assert event is not None
    assert (event.kind, event.state, event.scope, event.scope_id) == (
        "recognition",
        "opened",
        "site",
        "town-hall",
    )
    assert (event.n, round(event.score, 2), event.threshold) == (38, 89.47, 85.0)
    assert (event.window_start, event.at, event.department_id) == (
        DAY,
        DAY + timedelta(days=1),
        "civil",
    )


def test_no_recognition_below_threshold_with_too_few_presses_or_for_other_windows() -> None:
    assert recognition(day_score(n4=30, n1=6), department_id="c", rules=RULES) is None  # 83.3
    assert recognition(day_score(n4=29), department_id="c", rules=RULES) is None  # 29 presses
    assert recognition(day_score(n4=40, window="1h"), department_id="c", rules=RULES) is None
    assert recognition(day_score(n4=40, kind="employee"), department_id="c", rules=RULES) is None
    assert recognition(day_score(n4=40, scope="device"), department_id="c", rules=RULES) is None
    never = AlertRules(recognition_threshold=101)
    assert recognition(day_score(n4=400), department_id="c", rules=never) is None


@given(st.integers(0, 60), st.integers(0, 60))
def test_recognition_follows_its_two_rules_and_its_id_is_stable(n4: int, n1: int) -> None:
    score = day_score(n4=n4, n1=n1)
    event = recognition(score, department_id="c", rules=RULES)
    should = n4 + n1 >= 30 and score.score is not None and score.score >= 85.0
    assert (event is not None) == should
    if event is not None:
        again = recognition(score, department_id="c", rules=RULES)
        assert again is not None and again.alert_id == event.alert_id
        other_day = day_score(n4=n4, n1=n1, window_start=DAY + timedelta(days=1))
        moved = recognition(other_day, department_id="c", rules=RULES)
        assert moved is not None and moved.alert_id != event.alert_id


def test_recognition_threshold_and_minimum_come_from_the_alert_rules_file() -> None:
    book = AlertBook.from_toml(
        "[default]\nrecognition_threshold = 90\n[departments.tax]\nrecognition_min_presses = 5\n"
    )
    assert book.for_department("civil").recognition_threshold == 90
    assert book.for_department("tax").recognition_min_presses == 5
    with pytest.raises(RulesError, match="recognition_min_presses"):
        AlertBook.from_toml("[default]\nrecognition_min_presses = 0\n")


def test_the_watch_board_never_lists_a_recognition_as_open_and_names_each_kind() -> None:
    from rich.console import Console

    from civicpulse.stream.cli.alerts_watch import AlertBoard

    praise = recognition(day_score(n4=40), department_id="c", rules=RULES)
    assert praise is not None
    silent = praise.model_copy(
        update={
            "kind": "silent_device",
            "scope": "device",
            "scope_id": "desk-1",
            "alert_id": uuid.UUID(int=5),
        }
    )
    board = AlertBoard()
    board.add(praise)
    assert board.open == {}
    board.add(silent)
    console = Console(record=True, width=200)
    console.print(board.render("alerts.all"))
    text = console.export_text()
    assert "recognition" in text and "silent since 23:00" in text
