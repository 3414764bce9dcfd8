"""Service standards: the catalogue entries (validation, topic records) and attainment (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from civicpulse.analytics.standards import applicable, attainment, day_status
from civicpulse.schemas.catalogue import Catalogue, Standard
from civicpulse.stream.catalogue.topic import assemble, fragments

BASE: dict[str, Any] = {
    "departments": [
        {"department_id": "dep-a", "name": "A"},
        {"department_id": "dep-b", "name": "B"},
    ],
    "sites": [
        {"site_id": "s1", "department_id": "dep-a", "name": "one"},
        {"site_id": "s2", "department_id": "dep-a", "name": "two"},
        {"site_id": "s3", "department_id": "dep-b", "name": "three"},
    ],
    "questions": [
        {"question_id": "q1", "text": {"pl": "a", "en": "a"}, "kind": "citizen"},
        {"question_id": "qe", "text": {"pl": "b", "en": "b"}, "kind": "employee"},
    ],
}


def standard(**over: Any) -> dict[str, Any]:
    entry = {"scope": "department", "id": "dep-a", "question": None, "target_score": 75,
             "min_responses_per_day": 3, "from": "2026-01-01"}  # fmt: skip
    return {**entry, **over}


def catalogue(*standards: dict[str, Any]) -> Catalogue:
    return Catalogue.model_validate({**BASE, "standards": list(standards)})


def test_a_standard_reads_the_contract_shape_and_round_trips_on_the_topic() -> None:
    cat = catalogue(standard(), standard(**{"from": "2026-06-01", "target_score": 80}),
                    standard(scope="site", id="s3", question="q1"))  # fmt: skip
    assert cat.standards[0].valid_from == date(2026, 1, 1)
    records = fragments(cat)
    assert len(orjson.loads(records["standard:department:dep-a"])["standards"]) == 2
    assert orjson.loads(records["standard:site:s3"])["standards"][0]["from"] == "2026-01-01"
    assert assemble(records) == cat


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (standard(id="dep-x"), "unknown department dep-x"),
        (standard(scope="site", id="dep-a"), "unknown site dep-a"),
        (standard(question="qe"), "not a citizen question"),
        (standard(question="q-none"), "not a citizen question"),
        (standard(target_score=101), "less than or equal to 100"),
        (standard(target_score=-1), "greater than or equal to 0"),
        (standard(min_responses_per_day=-1), "greater than or equal to 0"),
        (standard(scope="city"), "'department' or 'site'"),
        (standard(**{"from": "2026-02-30"}), "date"),
    ],
)
def test_an_invalid_standard_is_refused_with_the_reason(
    entry: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        catalogue(entry)


def test_two_entries_of_one_target_from_the_same_day_are_refused() -> None:
    with pytest.raises(ValidationError, match="two entries from 2026-01-01"):
        catalogue(standard(), standard(target_score=60))


def test_the_latest_entry_from_on_or_before_the_day_applies() -> None:
    entries = catalogue(
        standard(), standard(**{"from": "2026-03-10", "target_score": 90})
    ).standards
    assert applicable(entries, date(2025, 12, 31)) is None
    assert applicable(entries, date(2026, 3, 9)) == entries[0]
    assert applicable(entries, date(2026, 3, 10)) == entries[1]


def test_day_status_rules() -> None:
    rule = Standard.model_validate(standard(min_responses_per_day=3, target_score=75))
    assert day_status(3, 75.0, rule) == "met"
    assert day_status(3, 74.9, rule) == "missed"
    assert day_status(2, 100.0, rule) == "too_few"
    free = Standard.model_validate(standard(min_responses_per_day=0))
    assert day_status(0, None, free) == "too_few"  # no response, no score


D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)
COUNTS = {
    ("s1", "q1", D1): (0, 0, 0, 3),  # dep-a day 1: 3 presses at 100 -> met
    ("s2", "", D1): (0, 0, 1, 0),    # + 1 press with no question (counts for question null)
    ("s1", "q1", D2): (2, 0, 0, 1),  # dep-a day 2: 3 presses at 33.3 -> missed
    ("s3", "q1", D2): (0, 0, 0, 9),  # dep-b: other department
}  # fmt: skip


def test_days_and_month_of_a_department_standard() -> None:
    cat = catalogue(
        standard(), standard(scope="site", id="s1", question="q1", min_responses_per_day=4)
    )
    days = attainment(cat, COUNTS, first=D1, end=D3 + date.resolution)
    department = [d for d in days if d["scope"] == "department"]
    assert [(d["period"], d["responses"], d["status"]) for d in department] == [
        ("2026-09-01", 4, "met"), ("2026-09-02", 3, "missed"), ("2026-09-03", 0, "too_few"),
    ]  # fmt: skip
    assert department[0]["score"] == pytest.approx(100 * (3 * 3 + 2) / (3 * 4))
    site = [d for d in days if d["scope"] == "site"]
    assert [(d["question"], d["responses"], d["status"]) for d in site] == [
        ("q1", 3, "too_few"), ("q1", 3, "too_few"), ("q1", 0, "too_few"),
    ]  # fmt: skip
    (month,) = [m for m in attainment(cat, COUNTS, first=D1, end=D3, granularity="month")
                if m["scope"] == "department"]  # fmt: skip
    assert (month["period"], month["responses"], month["status"]) == ("2026-09", 7, "missed")
    assert (month["days_met"], month["days_missed"], month["days_too_few"]) == (1, 1, 0)


def test_department_filter_keeps_its_sites_standards() -> None:
    cat = catalogue(standard(), standard(scope="site", id="s3"), standard(scope="site", id="s1"))
    items = attainment(cat, COUNTS, first=D1, end=D2, department="dep-a")
    assert [(i["scope"], i["id"]) for i in items] == [("department", "dep-a"), ("site", "s1")]


@given(
    st.lists(st.sampled_from(["met", "missed", "too_few"]), min_size=1, max_size=30),
)
def test_a_month_is_met_only_when_every_day_with_enough_responses_met(days: list[str]) -> None:
    # One press a day: 4 = score 100 (met), 1 = score 0 (missed), none = too_few (minimum 1).
    cell = {"met": (0, 0, 0, 1), "missed": (1, 0, 0, 0)}
    counts = {("s1", "q1", date(2026, 9, i + 1)): cell[s] for i, s in enumerate(days) if s in cell}
    cat = catalogue(standard(min_responses_per_day=1, target_score=50))
    end = date(2026, 9, 1) + timedelta(days=len(days))
    (month,) = attainment(cat, counts, first=date(2026, 9, 1), end=end, granularity="month")
    expected = "missed" if "missed" in days else "met" if "met" in days else "too_few"
    assert month["status"] == expected
    assert month["days_met"] == days.count("met")


def test_parse_quarter() -> None:
    from civicpulse.analytics.quarterly import parse_quarter
    from civicpulse.sink.exceptions import SinkError

    assert parse_quarter("2026Q3") == (date(2026, 7, 1), date(2026, 10, 1))
    assert parse_quarter("2026q4") == (date(2026, 10, 1), date(2027, 1, 1))
    for bad in ("2026Q5", "2026-Q1", "Q1 2026", ""):
        with pytest.raises(SinkError, match="YEARQn"):
            parse_quarter(bad)


def test_quarter_rows_take_the_site_standard_before_the_department_one() -> None:
    from civicpulse.analytics.quarterly import quarter_rows

    def day(scope: str, ident: str, status: str, target: float) -> dict[str, Any]:
        return {"scope": scope, "id": ident, "question": None, "status": status,
                "target_score": target}  # fmt: skip

    days = [day("department", "dep-a", "met", 70), day("site", "s1", "too_few", 80),
            day("site", "s1", "missed", 85), day("site", "s1", "met", 85)]  # fmt: skip
    counts = [("dep-a", "s1", "web", 1, 0, 0, 3), ("dep-a", "s2", "terminal", 0, 0, 0, 0)]
    s1, s2 = quarter_rows(counts, days)
    assert (s1["target_score"], s1["attained"], s1["responses"]) == (85.0, "missed", 4)
    assert (s1["share_satisfied"], s1["mean_score"]) == (0.75, 75.0)
    assert (s2["target_score"], s2["attained"], s2["mean_score"]) == (70.0, "met", "")


def test_channel_gaps_name_only_wide_gaps_between_channels_with_enough_responses() -> None:
    from civicpulse.analytics.channels import channel_gaps, channel_items

    rows = [
        ("dep-a", "s1", "terminal", 0, 0, 10, 30),  # score 91.7, n 40
        ("dep-a", "s2", "web", 10, 10, 10, 10),  # score 50, n 40
        ("dep-b", "s3", "terminal", 0, 0, 20, 20),  # 83.3
        ("dep-b", "s3", "web", 0, 0, 5, 5),  # 83.3 but only 10 responses
    ]
    items = channel_items(rows, "department")
    assert [(i["scope_id"], i["channel"], i["n"], i["share"]) for i in items] == [
        ("dep-a", "terminal", 40, 0.5), ("dep-a", "web", 40, 0.5),
        ("dep-b", "terminal", 40, 0.8), ("dep-b", "web", 10, 0.2),
    ]  # fmt: skip
    (gap,) = channel_gaps(items)
    assert (gap.scope_id, gap.higher, gap.lower) == ("dep-a", "terminal", "web")
    assert gap.points == pytest.approx(100 * 110 / 120 - 50)
    assert channel_gaps(items, points=50) == []
    assert [i["scope_id"] for i in channel_items(rows, "site", "s3")] == ["s3", "s3"]
