"""The macro expander against the ClickHouse plugin's own semantics (pkg/macros/macros.go,
macros_test.go and CHDatasource.applyConditionalAll of grafana/clickhouse-datasource)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicpulse.dashboards.exceptions import MacroError
from civicpulse.dashboards.macros import (
    ALL,
    MACROS,
    QueryContext,
    apply_conditional_all,
    expand,
    expand_macros,
    interpolate,
    macro_names,
)
from civicpulse.dashboards.specs import boards

# the time range of the plugin's macros_test.go
FROM = datetime(2014, 11, 12, 11, 45, 26, 371000, tzinfo=UTC)
TO = datetime(2015, 11, 12, 11, 45, 26, 371000, tzinfo=UTC)
CTX = QueryContext(FROM, TO, timedelta(seconds=20))


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [
        ("$__fromTime", "toDateTime(1415792726)"),
        ("$__toTime", "toDateTime(1447328726)"),
        ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726371)"),
        ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726371)"),
        (
            "$__timeFilter(ts)",
            "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)",
        ),
        (
            "$__timeFilter_ms(ts)",
            "ts >= fromUnixTimestamp64Milli(1415792726371) "
            "AND ts <= fromUnixTimestamp64Milli(1447328726371)",
        ),
        ("$__dateFilter(d)", "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"),
        (
            "$__dateTimeFilter(d, ts)",
            "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND "
            "(ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726))",
        ),
        (
            "$__dt(d, ts)",
            "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND "
            "(ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726))",
        ),
        ("$__timeInterval(col)", "toStartOfInterval(toDateTime(col), INTERVAL 20 second)"),
        (
            "$__timeInterval_ms(col)",
            "toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond)",
        ),
        ("INTERVAL $__interval_s second", "INTERVAL 20 second"),
    ],
)
def test_each_plugin_macro_expands_as_the_plugin_does(sql: str, expanded: str) -> None:
    assert expand_macros(sql, CTX) == expanded


def test_the_macro_table_is_the_plugins_list() -> None:
    assert set(MACROS) == {
        "fromTime", "toTime", "fromTime_ms", "toTime_ms", "timeFilter", "timeFilter_ms",
        "dateFilter", "dateTimeFilter", "dt", "timeInterval", "timeInterval_ms", "interval_s",
    }  # fmt: skip


def test_interval_below_a_second_rounds_up_to_one() -> None:
    ctx = QueryContext(FROM, TO, timedelta(milliseconds=300))
    assert expand_macros("$__interval_s", ctx) == "1"
    assert expand_macros("$__timeInterval_ms(c)", ctx).endswith("INTERVAL 300 millisecond)")


def test_macro_arguments_may_hold_calls_and_commas() -> None:
    assert expand_macros("$__timeFilter(toDateTime(a, 'UTC'))", CTX).startswith(
        "toDateTime(a, 'UTC') >= toDateTime(1415792726)"
    )


@pytest.mark.parametrize("sql", ["$__timeGroup(ts, '1m')", "$__interval", "$__unixEpochFilter(t)"])
def test_a_macro_outside_the_documented_list_fails(sql: str) -> None:
    with pytest.raises(MacroError, match="not a macro of grafana-clickhouse-datasource"):
        expand_macros(sql, CTX)


def test_a_wrong_argument_count_fails() -> None:
    with pytest.raises(MacroError, match="expects 1 argument"):
        expand_macros("$__timeFilter(a, b)", CTX)


def test_conditional_all_keeps_the_condition_for_a_value_and_drops_it_for_all() -> None:
    sql = "WHERE $__conditionalAll(d IN (${dep:sqlstring}), $dep) AND x"
    assert apply_conditional_all(sql, {"dep": ["a"]}) == "WHERE d IN (${dep:sqlstring}) AND x"
    assert apply_conditional_all(sql, {"dep": [ALL]}) == "WHERE 1=1 AND x"
    assert apply_conditional_all(sql, {"dep": ""}) == "WHERE 1=1 AND x"


def test_conditional_all_nested_and_repeated() -> None:
    sql = "$__conditionalAll(a IN (f(${x:sqlstring}, 1)), ${x}) OR $__conditionalAll(b = 1, $y)"
    assert (
        apply_conditional_all(sql, {"x": ["v"], "y": ALL}) == "a IN (f(${x:sqlstring}, 1)) OR 1=1"
    )


def test_variables_formats() -> None:
    values = {"one": "it's", "many": ["a", "b'c"]}
    assert interpolate("${one:sqlstring}", values) == "'it''s'"
    assert interpolate("${many:sqlstring}", values) == "'a','b''c'"
    assert interpolate("$many", values) == "'a','b'c'"  # the plugin's own list formatter
    assert interpolate("$one ${one}", values) == "it's it's"
    assert interpolate("$unknown", values) == "$unknown"


def test_a_custom_all_value_is_inserted_raw() -> None:
    assert interpolate("${d:sqlstring} = ''", {"d": ALL}, {"d": "''"}) == "'' = ''"
    with pytest.raises(MacroError, match="no custom All value"):
        interpolate("${d:sqlstring}", {"d": ALL})


def test_expand_runs_the_three_steps_in_grafanas_order() -> None:
    sql = "SELECT 1 WHERE $__conditionalAll(s IN (${s:sqlstring}), $s) AND $__timeFilter(t)"
    assert expand(sql, CTX, {"s": ["x"]}) == (
        "SELECT 1 WHERE s IN ('x') AND t >= toDateTime(1415792726) AND t <= toDateTime(1447328726)"
    )


def test_every_panel_and_variable_uses_documented_macros_only() -> None:
    documented = {*MACROS, "conditionalAll"}
    for board in boards("Europe/Warsaw"):
        queries = [p.sql for p in board.panels] + [v.query for v in board.variables if v.query]
        for sql in queries:
            assert macro_names(sql) <= documented, (board.uid, macro_names(sql) - documented)


def test_naive_times_are_refused() -> None:
    with pytest.raises(MacroError):
        QueryContext(datetime(2026, 1, 1), TO)
