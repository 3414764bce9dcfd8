"""The score accumulator against a recomputation from the accepted presses themselves."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, note, settings
from hypothesis import strategies as st

from civicpulse.schemas.events import JudgedPress, ScoreEvent
from civicpulse.stream.catalogue.index import epoch_us, judged, resolve
from civicpulse.stream.stages.scores.accumulator import MINUTE_US, ScoreAccumulator, Source
from civicpulse.stream.stages.scores.formula import Counts, scopes_of
from civicpulse.stream.stages.scores.windows import windows_of

from .factory import INDEX, event

ZONE = ZoneInfo("Europe/Warsaw")
# Sunday 2026-03-29 is the spring DST day in Warsaw (23 hours).
START = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)

Window = tuple[object, ...]


def accepted(
    pressed: datetime, received: datetime, button: int = 3, device: str = "t1"
) -> JudgedPress:
    press = resolve(event(pressed, received=received, button=button, device=device), INDEX)
    return judged(press, "counted")


def recompute(presses: list[JudgedPress], closed: int) -> dict[Window, Counts]:
    """Every window ending at or before ``closed``, per scope, from the presses themselves."""
    out: dict[Window, Counts] = defaultdict(Counts)
    seen: set[str] = set()
    for press in presses:
        if press.event_id.hex in seen:
            continue
        seen.add(press.event_id.hex)
        for window in windows_of(press.pressed_at, ZONE):
            if epoch_us(window.end) <= closed:
                for key in scopes_of(press, "city"):
                    where = (*key, window.name, window.start)
                    out[where] = out[where].add(press.button)
    return dict(out)


def latest(events: list[ScoreEvent]) -> dict[Window, Counts]:
    """What a ReplacingMergeTree keeps: the last row per window."""
    out: dict[Window, Counts] = {}
    for e in events:
        where = (e.scope, e.scope_id, e.kind, e.window, e.window_start)
        out[where] = Counts(e.n1, e.n2, e.n3, e.n4)
    return out


def advanced(acc: ScoreAccumulator) -> list[ScoreEvent]:
    """Everything one flush emits, in order."""
    corrections, closed = acc.advance()
    return corrections + [e for _, _, _, events in closed for e in events]


# -- the property: any arrival order, batch split, re-forwarding and crash ----------------------

Message = tuple[int, int, JudgedPress]  # source partition, source offset, press
CRASHES = ("none", "none", "none", "before_outputs", "mid_outputs", "mid_records", "after_records")


@st.composite
def scoring_logs(draw: st.DrawFn) -> list[Message]:
    """Per-partition ordered streams, interleaved, with suffixes forwarded again.

    Each source partition has its own ingest clock, so after interleaving one partition may run
    hours of event time ahead of another (a backlog read in chunks). ``resend`` appends the last
    ``k`` messages of a partition again, as the hop does after a crash.
    """
    clocks = {p: START for p in range(3)}
    sent: dict[int, list[Message]] = {p: [] for p in range(3)}
    log: list[Message] = []
    for _ in range(draw(st.integers(1, 70))):
        partition = draw(st.integers(0, 2))
        if draw(st.integers(0, 9)) == 0 and sent[partition]:
            k = draw(st.integers(1, len(sent[partition])))
            log.extend(sent[partition][-k:])
            continue
        clocks[partition] += timedelta(seconds=draw(st.integers(0, 900)))
        lateness = draw(st.sampled_from([0, 0, 0, 30, 600, 3 * 3600, 30 * 3600]))
        press = accepted(
            clocks[partition] - timedelta(seconds=lateness),
            clocks[partition],
            button=draw(st.integers(1, 4)),
            device=draw(st.sampled_from(["t1", "w1"])),
        )
        message = (partition, len(sent[partition]), press)
        sent[partition].append(message)
        log.append(message)
    return log


@settings(max_examples=300, deadline=None)
@given(log=scoring_logs(), data=st.data())
def test_the_last_emitted_value_of_every_window_equals_the_recomputation(
    log: list[Message], data: st.DataObject
) -> None:
    note(
        "log: "
        + ", ".join(
            f"{p}@{o} {m.pressed_at:%d %H:%M:%S}/{m.received_at:%d %H:%M:%S} b{m.button}"
            f" {m.device_id} {m.event_id.hex[-4:]}"
            for p, o, m in log
        )
    )
    stored: dict[str, Any] = {}  # the table's changelog, as recovery reads it
    emitted: list[ScoreEvent] = []  # what reached the scores topic, in order
    committed = 0  # the scoring topic's committed offset

    def recovered() -> ScoreAccumulator:
        acc = ScoreAccumulator(ZONE, "city")
        acc.load(stored.items())
        return acc

    acc = recovered()
    position = 0
    while position < len(log):
        size = data.draw(st.integers(1, 8), label="batch size")
        batch = log[position : position + size]
        for partition, offset, press in batch:
            assert acc.add(press, (partition, offset))
        outputs = advanced(acc)
        crash = data.draw(st.sampled_from(CRASHES), label="crash")
        # Phase 1: outputs, flushed; phase 2: table records, flushed; then the commit.
        if crash == "mid_outputs":
            outputs = outputs[: data.draw(st.integers(0, len(outputs)), label="landed")]
        if crash != "before_outputs":
            emitted.extend(outputs)
        records = acc.take_dirty()
        if crash == "mid_records":
            records = [r for r in records if data.draw(st.booleans(), label="record landed")]
        if crash in ("none", "mid_records", "after_records"):
            stored.update(records)
        position += len(batch)
        if crash == "none":
            if data.draw(st.booleans(), label="commit"):
                committed = position
            continue
        acc, position = recovered(), committed  # restart from the committed offset
    acc.idle(0, drained=True)
    emitted.extend(advanced(acc))
    presses = [press for _, _, press in log]
    assert acc.closed is not None
    assert latest(emitted) == recompute(presses, acc.closed)


# -- examples -------------------------------------------------------------------------------


def test_a_window_closes_after_grace_and_late_presses_correct_it_once_per_flush() -> None:
    acc = ScoreAccumulator(ZONE, "city", grace_us=2 * MINUTE_US)
    t = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)
    acc.add(accepted(t, t, button=4), (0, 0))
    acc.idle(16 * MINUTE_US)  # 08:16:30 - 2 min grace: windows ending by 08:14 close
    closed = acc.close()
    fifteen = [(s, e) for name, s, e, _ in closed if name == "15m"]
    assert fifteen[-1][1] == epoch_us(datetime(2026, 3, 2, 8, 14, tzinfo=UTC))
    assert all(name == "15m" for name, *_ in closed)  # the hour is still open
    # Two presses at 08:00:40, received later: each closed 15m window holding them comes again,
    # once, with both presses in it.
    late = t + timedelta(minutes=17)
    acc.add(accepted(t + timedelta(seconds=10), late, button=1), (0, 1))
    acc.add(accepted(t + timedelta(seconds=20), late, button=1), (0, 2))
    corrections = acc.take_corrections()
    city = [e for e in corrections if e.scope == "city"]
    assert sorted(e.window_end for e in city) == [
        datetime(2026, 3, 2, 8, m, tzinfo=UTC) for m in range(1, 15)
    ]
    assert all(e.n == 3 and e.n1 == 2 and e.n4 == 1 for e in corrections)
    assert acc.take_corrections() == []


def test_a_press_forwarded_twice_is_counted_once() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    press = accepted(t, t)
    acc.add(press, (2, 41))
    acc.add(press, (2, 41))
    acc.idle(0, drained=True)
    days = [e for _, _, _, events in acc.close() for e in events if e.window == "1d"]
    assert {e.n for e in days} == {1}


def test_the_slowest_active_partition_holds_the_watermark() -> None:
    acc = ScoreAccumulator(ZONE, "city", grace_us=0, idle_after=10.0)
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    acc.add(accepted(t, t), (0, 0), now=0.0)
    acc.add(accepted(t + timedelta(hours=1), t + timedelta(hours=1)), (1, 0), now=0.0)
    assert acc.watermark(now=5.0) == epoch_us(t)  # partition 0 is behind and active
    acc.close(now=5.0)
    assert acc.closed == epoch_us(t)
    # Partition 0 quiet for longer than idle_after: it no longer holds the others back.
    assert acc.watermark(now=11.0) == epoch_us(t + timedelta(hours=1))


def test_a_quiet_lane_that_may_still_bring_presses_holds_the_watermark_up_to_max_wait() -> None:
    """Issue 22's corrections: on a busy machine a lane can go unheard for longer than
    idle_after while its presses still wait upstream (``census`` says which lanes)."""
    acc = ScoreAccumulator(ZONE, "city", grace_us=0, idle_after=10.0, max_wait=100.0)
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    slow, fast = 2002, 1001
    acc.add(accepted(t, t), (slow, 0), now=0.0, lane=slow)
    acc.add(accepted(t + timedelta(hours=1), t + timedelta(hours=1)), (fast, 0), lane=fast)
    assert acc.watermark(now=60.0) == epoch_us(t + timedelta(hours=1))  # both idle by wall time
    acc.waiting = frozenset({slow})
    assert acc.watermark(now=60.0) == epoch_us(t)  # the slow lane may still bring presses
    assert acc.watermark(now=100.0) == epoch_us(t + timedelta(hours=1))  # up to max_wait


def test_nothing_closes_while_held() -> None:
    acc = ScoreAccumulator(ZONE, "city", grace_us=0)
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for minute in range(0, 60, 5):
        at = t + timedelta(minutes=minute)
        acc.add(accepted(at, at), (1001, minute), lane=1001)
    acc.held = True
    assert acc.close() == []
    acc.held = False
    assert acc.close() != []


def test_an_old_backlog_closes_its_hour_and_day_once_the_stream_idles() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    day = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for minute in range(0, 120, 7):
        at = day + timedelta(minutes=minute)
        acc.add(accepted(at, at), (0, minute))
    names = {name for name, *_ in acc.close()}
    assert names == {"15m", "1h"}  # the day is still open: its last press was at 09:59
    acc.idle(0, drained=True)  # quiet long enough: the backlog has drained
    later = acc.close()
    assert {name for name, *_ in later} == {"15m", "1h", "1d"}


def test_a_drained_stream_closes_the_rolling_windows_of_a_press_just_before_midnight() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    at = datetime(2026, 3, 2, 22, 55, tzinfo=UTC)  # 23:55 in Warsaw: its 15m windows end past 00:00
    acc.add(accepted(at, at), (0, 0))
    acc.idle(0, drained=True)
    closed = [(name, end) for name, _, end, _ in acc.close()]
    assert max(end for name, end in closed if name == "15m") == epoch_us(at) + 15 * MINUTE_US
    assert acc.closed is not None and acc.closed >= epoch_us(at) + 15 * MINUTE_US


def test_a_press_older_than_keep_is_refused() -> None:
    acc = ScoreAccumulator(ZONE, "city", keep_us=3600 * 1_000_000)
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    acc.add(accepted(t, t), (0, 0))
    assert not acc.add(accepted(t - timedelta(hours=2), t), (0, 1))


def test_the_dst_day_window_is_23_hours() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    t = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    acc.add(accepted(t, t), (0, 0))
    acc.idle(0, drained=True)
    days = [(s, e) for name, s, e, _ in acc.close() if name == "1d"]
    assert len(days) == 1 and days[0][1] - days[0][0] == 23 * 3600 * 1_000_000


def test_records_stay_small_whatever_the_rate() -> None:
    """A city's busiest minute: every record is one scope's hour, 60 minutes at most."""
    acc = ScoreAccumulator(ZONE, "city")
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for offset in range(20_000):
        at = t + timedelta(milliseconds=offset * 180)  # one hour at ~5.5 presses/s
        acc.add(accepted(at, at, button=1 + offset % 4), (offset % 6, offset))
    import orjson

    sizes = [len(orjson.dumps(value)) for _, value in acc.take_dirty()]
    assert max(sizes) < 4096


def test_records_of_the_old_event_id_sets_are_deleted_on_load() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    acc.load([("i|493000", ["ab" * 16]), ("meta", {"newest_received": 10**15, "closed": None})])
    dirty = dict(acc.take_dirty())
    assert dirty["i|493000"] is None
    assert acc.heads == {-1: 10**15}


def test_a_source_is_optional_for_offline_use() -> None:
    """Without a source (the alert benchmark, offline tools) every add counts."""
    acc = ScoreAccumulator(ZONE, "city")
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    source: Source | None = None
    acc.add(accepted(t, t), source)
    acc.add(accepted(t, t), source)
    acc.idle(0, drained=True)
    days = [e for _, _, _, events in acc.close() for e in events if e.window == "1d"]
    assert {e.n for e in days} == {2}


def test_nothing_closes_during_the_warm_up_while_lanes_show_up() -> None:
    acc = ScoreAccumulator(ZONE, "city", grace_us=0, warmup=10.0)
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    acc.add(accepted(t + timedelta(hours=1), t + timedelta(hours=1)), (0, 0), now=100.0)
    assert acc.close(now=105.0) == []  # a slower lane may still be on its way
    acc.add(accepted(t, t), (1, 0), now=106.0)  # ...and here it is
    half = t + timedelta(minutes=30)
    acc.add(accepted(half, half), (1, 1), now=107.0)
    closed = acc.close(now=111.0)
    assert closed and acc.closed == epoch_us(half)  # the slow lane holds the watermark
    assert all(end <= epoch_us(half) for _, _, end, _ in closed)
