"""Batches, flush policy and bad-row isolation (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.sink.batch import BatchPolicy, PartitionBatch, insert_isolating


def test_token_and_commit_offset_name_the_offset_range_including_dead_messages() -> None:
    batch = PartitionBatch("p.scores", 3, opened_at=0.0)
    batch.add_dead(40, b"{", "bad json")
    batch.add(41, ("row",), b"{}")
    batch.add(45, ("row",), b"{}")
    assert batch.dedup_token == "p.scores:3:40-45"
    assert batch.commit_offset == 46
    assert batch.size == 3


def test_offsets_must_grow() -> None:
    batch = PartitionBatch("t", 0, opened_at=0.0)
    batch.add(5, (), b"")
    with pytest.raises(ValueError, match="went backwards"):
        batch.add(5, (), b"")


def test_policy_flushes_on_size_or_age_never_when_empty() -> None:
    policy = BatchPolicy(max_rows=3, max_age=1.0)
    young = PartitionBatch("t", 0, opened_at=10.0)
    assert not policy.due([young], now=100.0)  # empty: nothing to flush however old
    young.add(0, (), b"")
    assert not policy.due([young], now=10.5)
    assert policy.due([young], now=11.0)
    full = PartitionBatch("t", 1, opened_at=10.0)
    for offset in range(3):
        full.add(offset, (), b"")
    assert policy.due([young, full], now=10.1)


class _RefusedError(Exception):
    pass


class _Table:
    """Stores rows unless one is negative (then refuses the whole insert, like a CHECK)."""

    def __init__(self) -> None:
        self.stored: list[int] = []
        self.tokens: list[str] = []

    def insert(self, rows: list[tuple[Any, ...]], token: str) -> None:
        if any(row[0] < 0 for row in rows):
            raise _RefusedError(f"negative in {token}")
        self.stored.extend(row[0] for row in rows)
        self.tokens.append(token)


@given(st.lists(st.integers(min_value=-3, max_value=50), max_size=60))
def test_isolation_stores_every_good_row_once_and_reports_every_bad_one(values: list[int]) -> None:
    table = _Table()
    rows = [(value,) for value in values]
    refused = insert_isolating(
        table.insert, rows, "t:0:0-9", lambda e: isinstance(e, _RefusedError)
    )
    assert sorted(table.stored) == sorted(v for v in values if v >= 0)
    assert [index for index, _ in refused] == [i for i, v in enumerate(values) if v < 0]
    assert len(set(table.tokens)) == len(table.tokens)  # every part has its own token


def test_isolation_tokens_are_deterministic_and_derived() -> None:
    first, second = _Table(), _Table()
    rows = [(1,), (-1,), (2,), (3,)]
    for table in (first, second):
        insert_isolating(table.insert, rows, "tok", lambda e: isinstance(e, _RefusedError))
    assert first.tokens == second.tokens == ["tok/0/0", "tok/1"]


def test_errors_that_do_not_blame_rows_propagate() -> None:
    def down(rows: list[tuple[Any, ...]], token: str) -> None:
        raise ConnectionError("server down")

    with pytest.raises(ConnectionError):
        insert_isolating(down, [(1,)], "tok", lambda e: isinstance(e, _RefusedError))
