"""The score accumulator against a recomputation from the accepted presses themselves."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from civicpulse.schemas.events import JudgedPress, ScoreEvent
from civicpulse.stream.accumulator import MINUTE_US, ScoreAccumulator
from civicpulse.stream.enrich import epoch_us, judged, resolve
from civicpulse.stream.scores import Counts, scopes_of
from civicpulse.stream.windows import windows_of

from .factory import INDEX, event

ZONE = ZoneInfo("Europe/Warsaw")
# Sunday 2026-03-29 is the spring DST day in Warsaw (23 hours).
START = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)


def accepted(pressed: datetime, received: datetime, button: int = 3) -> JudgedPress:
    press = resolve(event(pressed, received=received, button=button), INDEX)
    return judged(press, "counted")


def recompute(presses: list[JudgedPress], closed: int) -> dict[tuple[object, ...], Counts]:
    """Every window ending at or before ``closed``, per scope, from the presses themselves."""
    out: dict[tuple[object, ...], Counts] = defaultdict(Counts)
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


def latest(events: list[ScoreEvent]) -> dict[tuple[object, ...], Counts]:
    """What a ReplacingMergeTree keeps: the last row per window."""
    out: dict[tuple[object, ...], Counts] = {}
    for e in events:
        where = (e.scope, e.scope_id, e.kind, e.window, e.window_start)
        out[where] = Counts(e.n1, e.n2, e.n3, e.n4)
    return out


steps = st.lists(
    st.tuples(
        st.sampled_from(["press", "press", "press", "late", "resend", "idle", "close"]),
        st.integers(0, 600),  # seconds of ingest time that pass before the step
        st.integers(0, 4 * 3600),  # how late a late press is, in seconds
        st.integers(1, 4),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps=steps, restart=st.integers(0, 60))
def test_closed_windows_equal_a_recomputation(
    steps: list[tuple[str, int, int, int]], restart: int
) -> None:
    acc = ScoreAccumulator(ZONE, "city")
    stored: list[tuple[str, object]] = []
    emitted: list[ScoreEvent] = []
    presses: list[JudgedPress] = []
    now = START
    for number, (kind, gap, lateness, button) in enumerate(steps):
        if number == restart:
            # Crash and recover: a new accumulator from the records written so far.
            acc = ScoreAccumulator(ZONE, "city")
            acc.load(stored)
        now += timedelta(seconds=gap)
        if kind == "idle":
            acc.idle(gap * 1_000_000)
        elif kind == "close":
            for _, _, _, events in acc.close():
                emitted.extend(events)
        else:
            if kind == "resend" and presses:
                press = presses[-1]
            else:
                pressed = now - timedelta(seconds=lateness if kind == "late" else 0)
                press = accepted(pressed, now, button)
            corrections = acc.add(press)
            assert corrections is not None  # never older than `keep` here
            emitted.extend(corrections)
            presses.append(press)
        stored.extend(acc.take_dirty())
    for _, _, _, events in acc.close():
        emitted.extend(events)
    assert acc.closed is not None or not presses
    if acc.closed is not None:
        want = recompute(presses, acc.closed)
        got = latest(emitted)
        assert got == want


def test_a_window_closes_after_grace_and_late_presses_correct_it() -> None:
    acc = ScoreAccumulator(ZONE, "city", grace_us=2 * MINUTE_US)
    t = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)
    assert acc.add(accepted(t, t, button=4)) == []
    acc.idle(16 * MINUTE_US)  # 08:16:30 - 2 min grace: windows ending by 08:14 are closed
    closed = acc.close()
    fifteen = [(s, e) for name, s, e, _ in closed if name == "15m"]
    assert fifteen[-1][1] == epoch_us(datetime(2026, 3, 2, 8, 14, tzinfo=UTC))
    assert all(name == "15m" for name, *_ in closed)  # the hour is still open
    # A press at 08:00:40, received now: every closed 15m window holding it comes again.
    late = acc.add(accepted(t + timedelta(seconds=10), t + timedelta(minutes=17), button=1))
    assert late is not None
    assert {e.window_end for e in late if e.scope == "city"} == {
        datetime(2026, 3, 2, 8, m, tzinfo=UTC) for m in range(1, 15)
    }
    assert all(e.n == 2 and e.score == 50.0 for e in late)


def test_a_press_older_than_keep_is_refused() -> None:
    acc = ScoreAccumulator(ZONE, "city", keep_us=3600 * 1_000_000)
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    acc.add(accepted(t, t))
    assert acc.add(accepted(t - timedelta(hours=2), t)) is None


def test_the_dst_day_window_is_23_hours() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    t = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    acc.add(accepted(t, t))
    acc.idle(24 * 3600 * 1_000_000)
    days = [(s, e) for name, s, e, _ in acc.close() if name == "1d"]
    assert len(days) == 1 and days[0][1] - days[0][0] == 23 * 3600 * 1_000_000
