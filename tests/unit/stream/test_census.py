"""The lane census: which lanes may still bring presses, from the group's offsets alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.stream.stages.scores.census import LaneCensus, Reading, lane_partitions

RAW, ACCEPTED = range(3), range(3)


def reading(
    raw_waiting: dict[int, int] | None = None,
    accepted_waiting: dict[int, int] | None = None,
    scoring_end: int = 100,
    raw_end: int = 50,
) -> Reading:
    raw_waiting = raw_waiting or {}
    accepted_waiting = accepted_waiting or {}
    return Reading(
        raw={p: (raw_waiting.get(p, 0), raw_end) for p in RAW},
        accepted={q: accepted_waiting.get(q, 0) for q in ACCEPTED},
        scoring_end=scoring_end,
    )


def test_lanes_name_their_partitions() -> None:
    assert lane_partitions(2001) == (2, 1)
    assert lane_partitions(-1000 + 2) == (None, 2)


def test_without_a_reading_nothing_waits_and_nothing_is_held() -> None:
    census = LaneCensus()
    assert census.waiting([1001, 2002], position=0) == set()
    assert not census.held({1}, position=0, now=0.0)


def test_a_lane_waits_while_its_raw_or_accepted_partition_has_presses_waiting() -> None:
    census = LaneCensus()
    census.observe(reading(raw_waiting={1: 5}), [1001, 2002])
    assert census.waiting([1001, 2002], position=1_000) == {1001}
    census.observe(reading(accepted_waiting={2: 1}), [1001, 2002])
    assert census.waiting([1001, 2002], position=1_000) == {2002}


def test_a_drained_lane_waits_until_the_stage_has_read_past_the_ticks_log_end() -> None:
    census = LaneCensus()
    census.seen(1001, 10)
    census.observe(reading(scoring_end=100), [1001])
    assert census.waiting([1001], position=99) == {1001}  # its presses may lie in 11..99
    assert census.waiting([1001], position=100) == set()


def test_a_press_at_or_past_the_ticks_log_end_makes_the_lane_wait_for_the_next_tick() -> None:
    census = LaneCensus()
    census.observe(reading(scoring_end=100), [1001])
    census.seen(1001, 120)  # came after the reading: more may follow it
    assert census.waiting([1001], position=121) == {1001}
    census.observe(reading(scoring_end=130), [1001])
    assert census.waiting([1001], position=130) == set()


def test_a_raw_partition_with_presses_and_no_lane_holds_until_drained_and_read() -> None:
    census = LaneCensus(max_wait=60.0)
    census.observe(reading(raw_waiting={2: 7}, scoring_end=100), [1001])
    assert census.held({1}, position=100, now=0.0)  # partition 0 and 2 have had presses
    census.observe(reading(accepted_waiting={0: 1}, scoring_end=150), [1001])
    assert census.held({1}, position=200, now=1.0)  # any accepted partition may hold them
    census.observe(reading(scoring_end=180), [1001])
    assert census.held({1}, position=179, now=2.0)
    assert not census.held({1}, position=180, now=3.0)


def test_an_empty_raw_partition_holds_nothing() -> None:
    census = LaneCensus()
    census.observe(reading(raw_waiting={0: 0}, raw_end=0), [])
    assert not census.held(set(), position=0, now=0.0)


def test_a_partition_that_never_brings_a_lane_stops_holding_after_max_wait() -> None:
    """A stuck button whose presses are all rejected must not stop the city's windows."""
    census = LaneCensus(max_wait=60.0)
    census.observe(reading(raw_waiting={2: 3}), [1001])
    assert census.held({0, 1}, position=0, now=10.0)
    assert census.held({0, 1}, position=0, now=69.0)
    assert not census.held({0, 1}, position=0, now=70.0)


@given(
    st.lists(st.integers(0, 2), min_size=1, max_size=30),
    st.integers(0, 200),
    st.integers(0, 3),
)
def test_a_lane_never_counts_as_drained_while_its_partitions_have_presses_waiting(
    lanes_raw: list[int], scoring_end: int, waiting: int
) -> None:
    lanes = [r * 1000 + r for r in lanes_raw]
    census = LaneCensus()
    census.observe(reading(raw_waiting={lanes_raw[0]: waiting}, scoring_end=scoring_end), lanes)
    still = census.waiting(lanes, position=10_000)
    assert (lanes[0] in still) == (waiting > 0)
