"""The guard: one read statement through, everything else refused with ClickHouse's codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.api.sql_endpoint.errors import SqlEndpointError
from civicpulse.api.sql_endpoint.guard import (
    BLOCKED_TABLE_FUNCTIONS,
    SAFE_TABLE_FUNCTIONS,
    blocked_functions,
    check_query,
    tokenize,
)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  with x AS (SELECT 1) SELECT * FROM x",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "SHOW TABLES",
        "DESCRIBE TABLE scores",
        "desc scores",
        "EXISTS TABLE scores",
        "EXPLAIN SELECT 1",
        "SELECT 1;",
        "SELECT 1; -- trailing comment",
        "SELECT 'DROP TABLE x; INSERT' AS s",
        "SELECT format('{}', 1), `files` FROM t",  # a quoted column named like a function
        "-- leading comment\nSELECT 1",
    ],
)
def test_read_statements_pass(sql: str) -> None:
    assert check_query(sql).sql in sql  # passed on, at most without trailing ";"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO scores VALUES (1)",
        "DROP TABLE scores",
        "ALTER TABLE scores DELETE WHERE 1",
        "TRUNCATE TABLE scores",
        "CREATE TABLE x (a UInt8) ENGINE = Memory",
        "SYSTEM FLUSH LOGS",
        "KILL QUERY WHERE 1",
        "SET readonly = 0",
        "OPTIMIZE TABLE scores",
        "RENAME TABLE a TO b",
        "GRANT ALL ON *.* TO x",
        "/* SELECT */ DELETE FROM scores WHERE 1",
    ],
)
def test_writes_get_readonly(sql: str) -> None:
    with pytest.raises(SqlEndpointError) as caught:
        check_query(sql)
    assert (caught.value.code, caught.value.name) == (164, "READONLY")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM URL('http://example.org', 'CSV')",
        "SELECT * FROM s3('https://b/x.csv')",
        "SELECT * FROM remote('10.0.0.1', system.one)",
        "SELECT * FROM mysql('h:3306', 'd', 't', 'u', 'p')",
        "SELECT * FROM executable('ls', 'TSV', 'x String')",
        "SELECT * FROM python(df)",
        "SELECT * FROM `file`('/etc/passwd', 'LineAsString')",  # the engine calls it all the same
        "SELECT * FROM \"file\"('/etc/passwd', 'LineAsString')",
        "SELECT `file`('/etc/passwd')",
        "SELECT 1 FROM t WHERE a IN (SELECT 1 FROM postgresql('h', 'd', 't', 'u', 'p'))",
    ],
)
def test_table_functions_that_leave_the_store_are_refused(sql: str) -> None:
    with pytest.raises(SqlEndpointError) as caught:
        check_query(sql)
    assert caught.value.code == 164


def test_into_outfile_multi_statements_and_empty_queries() -> None:
    cases = {
        "SELECT 1 INTO OUTFILE '/tmp/x'": 564,
        "SELECT 1; SELECT 2": 62,
        "SELECT 1; DROP TABLE scores": 62,
        "": 62,
        " ; -- nothing": 62,
    }
    for sql, code in cases.items():
        with pytest.raises(SqlEndpointError) as caught:
            check_query(sql)
        assert caught.value.code == code, sql


def test_format_clause_is_found_outside_literals_and_calls() -> None:
    assert check_query("SELECT 1 FORMAT JSONEachRow").format == "JSONEachRow"
    assert check_query("SELECT 1 FORMAT Native SETTINGS max_threads = 1").format == "Native"
    assert check_query("SELECT 'FORMAT CSV' AS s").format is None
    assert check_query("SELECT format('{}', 1)").format is None
    assert check_query("SELECT 1 -- FORMAT CSV").format is None


def test_trailing_semicolons_are_dropped() -> None:
    assert check_query("SELECT 1 ;;  ").sql == "SELECT 1"


@given(st.text(alphabet="abc ;'\"`-/*\n()\\", max_size=40))
def test_tokenizer_never_loses_words(text: str) -> None:
    """Every character is in a token, a space or a comment: nothing is silently skipped."""
    tokens = tokenize(text)
    assert sum(len(t.text) for t in tokens) <= len(text)
    for token in tokens:
        assert token.text in text


@given(st.sampled_from(sorted(BLOCKED_TABLE_FUNCTIONS)), st.sampled_from(["", " ", "\n"]))
def test_every_blocked_function_is_refused_in_any_case(name: str, space: str) -> None:
    with pytest.raises(SqlEndpointError):
        check_query(f"SELECT * FROM {name.upper()}{space}('x')")


def test_settings_clauses_may_not_lift_the_limits() -> None:
    limits = frozenset({"max_execution_time", "max_result_rows"})
    allowed = [
        "SELECT 1 SETTINGS do_not_merge_across_partitions_select_final = 1",
        "SELECT name FROM system.settings WHERE name = 'max_execution_time'",
        "SELECT * FROM (SELECT 1 AS x SETTINGS max_bytes_to_read = 5) WHERE x = 1",
    ]
    for sql in allowed:
        assert check_query(sql, limits).sql == sql
    refused = [
        "SELECT 1 SETTINGS max_execution_time = 3600",
        "SELECT 1 SETTINGS a = 1, `max_result_rows` = 0 FORMAT JSON",
        "SELECT * FROM (SELECT 1 SETTINGS max_result_rows = 0)",
        "SELECT 1 FORMAT TSV SETTINGS readonly = 0",
    ]
    for sql in refused:
        with pytest.raises(SqlEndpointError) as caught:
            check_query(sql, limits)
        assert caught.value.code == 164 and "setting in readonly mode" in caught.value.text, sql


def test_every_engine_table_function_is_blocked_but_the_safe_ones() -> None:
    engine = ["numbers", "generateRandom", "filesystem", "oss", "eval", "mergeTreeIndex", "url"]
    blocked = blocked_functions(engine)
    assert {"filesystem", "oss", "eval", "mergetreeindex", "url"} <= blocked
    assert not blocked & SAFE_TABLE_FUNCTIONS
    assert blocked >= BLOCKED_TABLE_FUNCTIONS - SAFE_TABLE_FUNCTIONS
    with pytest.raises(SqlEndpointError):
        check_query("SELECT * FROM filesystem('/')", blocked=blocked)
    assert check_query("SELECT * FROM numbers(3)", blocked=blocked).sql
    assert check_query("SELECT sum(x) FROM format(CSV, 'x UInt8', '1')", blocked=blocked).sql
