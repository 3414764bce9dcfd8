"""The attainment rule's SQL functions (migration 0011) against analytics/standards.py's rule.

``civicpulse_standard_day_status`` must judge every day as :func:`day_status` does (scores as
the score function makes them, targets and minimums as the catalogue allows, the boundaries
exactly on the target and on the minimum), and ``civicpulse_standard_period_status`` every
list of day statuses as :func:`period_status` does.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from civicpulse.analytics.queries import score_of
from civicpulse.analytics.standards import day_status, period_status
from civicpulse.schemas.catalogue import Standard

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration

_CHECKS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                   HealthCheck.function_scoped_fixture])  # fmt: skip
_COUNTS = st.tuples(*[st.integers(0, 40)] * 4)
# targets on the score grid (k / 3n * 100 hits them exactly) as well as anywhere in 0..100
_TARGETS = st.one_of(
    st.floats(0, 100, allow_nan=False),
    st.sampled_from([0.0, 50.0, 75.0, 100.0, 66.66666666666667]),
    st.integers(0, 100).map(float),
)
_DAY = st.tuples(_COUNTS, _TARGETS, st.integers(0, 60))


def _standard(target: float, minimum: int) -> Standard:
    return Standard.model_validate(
        {"scope": "department", "id": "d", "target_score": target,
         "min_responses_per_day": minimum, "from": date(2026, 1, 1)}
    )  # fmt: skip


@_CHECKS
@given(st.lists(_DAY, min_size=1, max_size=30))
@example([((0, 0, 0, 0), 0.0, 0), ((0, 0, 0, 3), 100.0, 3), ((1, 1, 1, 1), 50.0, 4)])
@example([((0, 0, 0, 1), 100.0, 2), ((1, 0, 0, 0), 0.0, 1), ((0, 1, 1, 1), 66.66666666666667, 3)])
def test_day_status_in_sql_is_the_python_rule(
    clickhouse_client: Client, days: list[tuple[tuple[int, int, int, int], float, int]]
) -> None:
    rows = [(*counts, target, minimum) for counts, target, minimum in days]
    got = clickhouse_client.query(
        "SELECT civicpulse_standard_day_status(r.1 + r.2 + r.3 + r.4, "
        "civicpulse_score(r.1, r.2, r.3, r.4), r.5, r.6) "
        "FROM (SELECT arrayJoin({rows:Array(Tuple(UInt64, UInt64, UInt64, UInt64, Float64, "
        "UInt32))}) AS r)",
        parameters={"rows": rows},
    ).result_rows
    want = [
        day_status(sum(counts), score_of(*counts), _standard(target, minimum))
        for counts, target, minimum in days
    ]
    assert [row[0] for row in got] == want


@_CHECKS
@given(st.lists(st.lists(st.sampled_from(["met", "missed", "too_few"]), max_size=31), min_size=1))
def test_period_status_in_sql_is_the_python_rule(
    clickhouse_client: Client, periods: list[list[str]]
) -> None:
    got = clickhouse_client.query(
        "SELECT civicpulse_standard_period_status(p) FROM "
        "(SELECT arrayJoin({periods:Array(Array(String))}) AS p)",
        parameters={"periods": periods},
    ).result_rows
    assert [row[0] for row in got] == [period_status(p) for p in periods]  # type: ignore[arg-type]
