"""The stall watch: which held partitions have work pending and no committed progress."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.stream.framework.watchdog import Backlog, StallResponse, StallWatch


def test_a_partition_stuck_with_a_backlog_is_reported_once_the_time_is_up() -> None:
    watch: StallWatch[int] = StallWatch(after=10)
    stuck = {2: Backlog(committed=40, end=53)}
    assert watch.observe(0.0, stuck) == []
    assert watch.observe(9.9, stuck) == []
    assert watch.observe(10.0, stuck) == [2]
    assert watch.observe(25.0, stuck) == [2]


def test_progress_or_an_empty_backlog_restarts_the_clock() -> None:
    watch: StallWatch[int] = StallWatch(after=10)
    assert watch.observe(0.0, {0: Backlog(5, 9)}) == []
    assert watch.observe(8.0, {0: Backlog(6, 9)}) == []  # moved: clock restarts at 8
    assert watch.observe(17.0, {0: Backlog(6, 9)}) == []
    assert watch.observe(18.0, {0: Backlog(6, 9)}) == [0]
    assert watch.observe(19.0, {0: Backlog(9, 9)}) == []  # caught up
    assert watch.observe(40.0, {0: Backlog(9, 12)}) == []  # new work: a fresh clock
    assert watch.observe(50.0, {0: Backlog(9, 12)}) == [0]


def test_a_partition_given_away_and_back_starts_a_fresh_clock() -> None:
    watch: StallWatch[int] = StallWatch(after=10)
    watch.observe(0.0, {1: Backlog(0, 4), 2: Backlog(0, 4)})
    watch.observe(5.0, {2: Backlog(0, 4)})  # partition 1 went to another worker
    assert watch.observe(12.0, {1: Backlog(0, 4), 2: Backlog(0, 4)}) == [2]


def test_a_pause_restarts_every_clock() -> None:
    watch: StallWatch[int] = StallWatch(after=10)
    watch.observe(0.0, {0: Backlog(0, 4)})
    watch.pause()  # rebalance or recovery: no progress is expected
    assert watch.observe(11.0, {0: Backlog(0, 4)}) == []
    assert watch.observe(21.0, {0: Backlog(0, 4)}) == [0]


def test_the_thresholds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        StallWatch(after=0)
    with pytest.raises(ValueError):
        StallResponse(give_up_after=0)


@given(
    st.lists(
        st.tuples(st.floats(0, 1000), st.integers(0, 5), st.integers(0, 50)),
        min_size=1,
        max_size=40,
    )
)
def test_a_partition_that_moves_at_every_look_is_never_reported(
    looks: list[tuple[float, int, int]],
) -> None:
    watch: StallWatch[str] = StallWatch(after=1)
    now, committed = 0.0, 0
    for gap, step, backlog in looks:
        now += gap
        committed += step + 1
        assert watch.observe(now, {"p": Backlog(committed, committed + backlog)}) == []


@given(st.lists(st.floats(0, 100), min_size=1, max_size=40), st.integers(0, 10**6))
def test_a_partition_with_nothing_pending_is_never_reported(gaps: list[float], offset: int) -> None:
    watch: StallWatch[str] = StallWatch(after=1)
    now = 0.0
    for gap in gaps:
        now += gap
        assert watch.observe(now, {"p": Backlog(offset, offset)}) == []


def test_a_stalled_partition_is_sought_once_then_given_up_on_after_the_longer_wait() -> None:
    watch: StallWatch[int] = StallWatch(after=10)
    response: StallResponse[int] = StallResponse(give_up_after=30)
    stuck = {3: Backlog(committed=7, end=20)}

    def look(now: float) -> tuple[list[int], list[int]]:
        return response.respond(now, watch.observe(now, stuck), stuck)

    assert look(0.0) == ([], [])
    assert look(10.0) == ([3], [])  # the early, safe step: a seek to the committed offset
    assert look(15.0) == ([], [])  # sought once only
    assert look(39.9) == ([], [])
    assert look(40.0) == ([], [3])  # still stuck 30 s after the seek: the worker exits


def test_a_partition_that_catches_up_after_its_seek_is_done_with() -> None:
    response: StallResponse[int] = StallResponse(give_up_after=30)
    assert response.respond(10.0, [1], {1: Backlog(0, 5)}) == ([1], [])
    assert response.respond(15.0, [], {1: Backlog(5, 5)}) == ([], [])  # caught up
    # stalled again much later: a fresh seek, not an exit
    assert response.respond(100.0, [1], {1: Backlog(5, 9)}) == ([1], [])


def test_a_rebalance_forgets_every_seek() -> None:
    response: StallResponse[int] = StallResponse(give_up_after=30)
    response.respond(0.0, [1], {1: Backlog(0, 5)})
    response.forget()
    assert response.respond(40.0, [1], {1: Backlog(0, 5)}) == ([1], [])


def test_pending_is_never_negative() -> None:
    # A committed offset can be ahead of a stale end offset read a moment earlier.
    assert Backlog(committed=12, end=10).pending == 0
