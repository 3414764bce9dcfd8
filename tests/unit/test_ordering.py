"""Anti-spam judges a partition contiguously: ``InOrder`` says next, again or hole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.stream.framework.ordering import InOrder


def test_offsets_from_the_committed_one_on_are_judged_in_turn() -> None:
    order = InOrder()
    order.start(2, 149)
    assert [order.admit(2, o) for o in (149, 150, 151)] == ["next", "next", "next"]
    assert order.next_offset(2) == 152


def test_an_offset_above_the_next_is_a_hole_and_moves_nothing() -> None:
    order = InOrder()
    order.start(0, 208)
    assert order.admit(0, 331) == "hole"
    assert order.admit(0, 332) == "hole"
    assert order.next_offset(0) == 208
    # After the seek back, the missing presses come first, then the held ones again.
    assert order.admit(0, 208) == "next"
    assert order.next_offset(0) == 209


def test_a_redelivery_below_the_next_offset_is_judged_again_without_moving() -> None:
    order = InOrder()
    order.start(1, 10)
    for offset in (10, 11, 12):
        order.admit(1, offset)
    assert order.admit(1, 11) == "again"
    assert order.next_offset(1) == 13


def test_partitions_are_independent_and_forget_clears_all() -> None:
    order = InOrder()
    order.start(0, 5)
    order.start(1, 7)
    assert order.admit(0, 5) == "next"
    assert order.admit(1, 5) == "again"
    order.forget()
    assert not order.knows(0) and not order.knows(1)


@given(st.integers(0, 1000), st.lists(st.integers(0, 1200), max_size=200))
def test_whatever_the_delivery_order_the_judged_offsets_are_contiguous(
    start: int, deliveries: list[int]
) -> None:
    order = InOrder()
    order.start(0, start)
    judged = [o for o in deliveries if order.admit(0, o) == "next"]
    assert judged == list(range(start, start + len(judged)))
    assert order.next_offset(0) == start + len(judged)
