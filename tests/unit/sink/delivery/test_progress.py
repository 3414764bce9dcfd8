"""Commit points: only past the settled prefix of each partition, whatever the settle order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.sink.delivery.progress import OffsetTracker


def test_commit_waits_for_the_first_unsettled_event() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.read(0, offset)
    tracker.settle(0, 12)
    tracker.settle(0, 11)
    assert tracker.to_commit() == {}
    tracker.settle(0, 10)
    assert tracker.to_commit() == {0: 13}
    tracker.committed({0: 13})
    assert tracker.to_commit() == {}
    assert tracker.unsettled() == 0


def test_partitions_are_independent_and_revocation_forgets() -> None:
    tracker = OffsetTracker()
    tracker.read(0, 5)
    tracker.read(1, 7)
    tracker.settle(1, 7)
    assert tracker.to_commit() == {1: 8}
    tracker.forget(0)
    tracker.settle(0, 5)  # finished after the revocation: the new owner re-reads it
    assert tracker.to_commit() == {1: 8}


def test_out_of_order_reads_are_a_bug() -> None:
    tracker = OffsetTracker()
    tracker.read(0, 3)
    with pytest.raises(ValueError):
        tracker.read(0, 3)


@given(st.permutations(list(range(20))), st.integers(0, 20))
def test_committed_offset_never_passes_an_unsettled_event(order: list[int], settled: int) -> None:
    tracker = OffsetTracker()
    for offset in range(20):
        tracker.read(0, offset)
    done = set(order[:settled])
    for offset in order[:settled]:
        tracker.settle(0, offset)
    point = tracker.to_commit().get(0, 0)
    # everything below the commit point settled; the commit point itself is not (or the end)
    assert all(offset in done for offset in range(point))
    assert point == 20 or point not in done
    assert tracker.unsettled() == 20 - settled


def test_a_failed_commit_is_offered_again() -> None:
    tracker = OffsetTracker()
    tracker.read(2, 0)
    tracker.settle(2, 0)
    tracker.committed(tracker.to_commit())
    assert tracker.to_commit() == {}
    tracker.uncommitted([2, 9])  # 9: a partition this consumer no longer has
    assert tracker.to_commit() == {2: 1}
