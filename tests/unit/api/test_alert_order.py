"""The alert stream's order and resume rule, without Kafka."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.api.alerts.order import MergeBuffer, format_event_id, parse_event_id


def test_event_id_round_trip() -> None:
    assert parse_event_id(format_event_id("c1.alerts.all", 2, 17)) == ("c1.alerts.all", 2, 17)
    assert parse_event_id("alerts.all/x/1") is None
    assert parse_event_id("no-slashes") is None


def test_waits_for_a_partition_that_may_still_deliver_an_earlier_event() -> None:
    buffer = MergeBuffer((0, 1), grace_ms=100)
    buffer.add(1_000, 0, 5, b"a")
    assert buffer.ready(now_ms=10_000) == []  # partition 1 not read to its end yet
    buffer.at_end(1)
    assert buffer.ready(now_ms=1_050) == []  # younger than the grace period
    assert [p.value for p in buffer.ready(now_ms=1_200)] == [b"a"]


def test_a_later_event_elsewhere_releases_an_earlier_one() -> None:
    buffer = MergeBuffer((0, 1))
    buffer.add(2_000, 1, 0, b"late")
    buffer.add(1_000, 0, 0, b"early")
    assert [p.value for p in buffer.ready(now_ms=0)] == [b"early"]


# events per partition with non-decreasing timestamps (as the broker's time index assumes)
_partition = st.lists(st.integers(0, 5), max_size=8).map(
    lambda gaps: [sum(gaps[: i + 1]) for i in range(len(gaps))]
)


@given(st.lists(_partition, min_size=1, max_size=3), st.data())
def test_resume_from_any_delivered_event_gives_exactly_the_rest(
    partitions: list[list[int]], data: st.DataObject
) -> None:
    keys = sorted((ts, p, o) for p, stamps in enumerate(partitions) for o, ts in enumerate(stamps))
    buffer = MergeBuffer(tuple(range(len(partitions))), grace_ms=0)
    for p, stamps in enumerate(partitions):
        for o, ts in enumerate(stamps):
            buffer.add(ts, p, o, b"")
        buffer.at_end(p)
    delivered = [e.key for e in buffer.ready(now_ms=10**6)]
    assert delivered == keys
    if not keys:
        return
    cut = data.draw(st.integers(0, len(keys) - 1))
    ts0, p0, o0 = keys[cut]
    # what the reader does on Last-Event-ID: p0 from o0 + 1, others from the first ts >= ts0
    resumed = MergeBuffer(tuple(range(len(partitions))), grace_ms=0, after=keys[cut])
    for p, stamps in enumerate(partitions):
        start = (
            o0 + 1
            if p == p0
            else next((o for o, ts in enumerate(stamps) if ts >= ts0), len(stamps))
        )
        for o in range(start, len(stamps)):
            resumed.add(stamps[o], p, o, b"")
        resumed.at_end(p)
    assert [e.key for e in resumed.ready(now_ms=10**6)] == keys[cut + 1 :]
