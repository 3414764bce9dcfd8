"""The shared raw-bytes -> judged press path: enrichment, dead letters, state in the store."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from civicpulse.schemas.events import JudgedPress
from civicpulse.stream.catalogue.index import epoch_us
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

from .factory import CATALOGUE, T0, event


def make_judge() -> Judge:
    return Judge(CATALOGUE, RuleBook.defaults(), MemoryStore())


def test_enrichment_resolves_site_department_question_and_kind() -> None:
    judge = make_judge()
    early = judge.judge(event(T0).model_dump_json())
    assert isinstance(early, JudgedPress)
    assert (early.verdict, early.site_id, early.department_id, early.question_id) == (
        "counted",
        "site-a",
        "dep-a",
        "q1",
    )
    assert early.question_kind == "citizen"
    # The schedule entry with the latest valid_from <= pressed_at: q2 from 2026-03-03.
    later = judge.judge(event(datetime(2026, 3, 3, tzinfo=UTC)).model_dump_json())
    assert isinstance(later, JudgedPress) and later.question_id == "q2"
    # A new catalogue entry of the same device (another site, an employee question).
    moved = judge.judge(event(datetime(2026, 6, 2, tzinfo=UTC)).model_dump_json())
    assert isinstance(moved, JudgedPress)
    assert (moved.site_id, moved.question_id, moved.question_kind) == ("site-b", "qe", "employee")


def test_unknown_device_has_no_ids_and_leaves_no_state() -> None:
    judge = make_judge()
    result = judge.judge(event(T0, device="ghost").model_dump_json())
    assert isinstance(result, JudgedPress) and result.verdict == "unknown_device"
    assert (result.site_id, result.department_id, result.question_id) == (None, None, None)
    judge.flush()
    assert isinstance(judge.store, MemoryStore) and judge.store.values == {}


def test_judged_press_round_trips_through_its_json_form() -> None:
    result = make_judge().judge(event(T0, reason="queue", lang="pl").model_dump_json())
    assert isinstance(result, JudgedPress)
    assert JudgedPress.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "invalid JSON"),
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "Input should be an object"),
        (b"\xff\xfe", "invalid JSON"),
        (b'{"event_id": "x"}', "event_id: Input should be a valid UUID"),
    ],
)
def test_invalid_input_gives_a_one_line_error(raw: bytes, fragment: str) -> None:
    error = make_judge().judge(raw)
    assert isinstance(error, str) and fragment in error and "\n" not in error


def test_field_errors_name_the_field_and_value() -> None:
    bad = orjson.loads(event(T0).model_dump_json())
    bad["button"] = 5
    error = make_judge().judge(orjson.dumps(bad))
    assert error == "invalid PressEvent: button: Input should be less than or equal to 4 (got 5)"


def test_web_press_without_visitor_is_a_dead_letter() -> None:
    web = orjson.loads(event(T0, device="w1", visitor="visitor-aaaa").model_dump_json())
    del web["visitor"]
    error = make_judge().judge(orjson.dumps(web))
    assert isinstance(error, str) and "visitor" in error


def test_state_lives_in_the_store_between_calls() -> None:
    judge = make_judge()
    first = event(T0)
    assert [getattr(judge.judge(e.model_dump_json()), "verdict", None) for e in (first, first)] == [
        "counted",
        "duplicate",
    ]
    assert isinstance(judge.store, MemoryStore)
    judge.flush()
    assert judge.store.values["t1"]["last_counted"] == epoch_us(T0)
