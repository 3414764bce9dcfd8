"""The open-windows gauge (``stream.framework.metrics``) against the scores stage's own closing.

Oracle: a window counted open now is exactly a window the accumulator emits later, once the
stream has drained and every window is closed; nothing it emitted before is counted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from civicpulse.schemas.events import JudgedPress
from civicpulse.stream.catalogue.index import judged, resolve
from civicpulse.stream.framework import metrics
from civicpulse.stream.framework.transaction import PartitionState, Transaction
from civicpulse.stream.stages.alerts.state_machine import AlertBook
from civicpulse.stream.stages.scores.accumulator import MINUTE_US, Closed, ScoreAccumulator
from civicpulse.stream.stages.scores.stage import ScoreKeeper
from civicpulse.stream.stages.scores.windows import windows_of

from .factory import INDEX, event

ZONE = ZoneInfo("Europe/Warsaw")
# the spring DST night in Warsaw: a 23-hour local day among the windows
START = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)


def accepted(
    pressed: datetime, received: datetime, button: int = 3, device: str = "t1"
) -> JudgedPress:
    press = resolve(event(pressed, received=received, button=button, device=device), INDEX)
    return judged(press, "counted")


def windows(closed: list[Closed]) -> Counter[tuple[str, str]]:
    """(scope level, window) -> distinct windows (scope, start) among closed ones."""
    seen = {(e.scope, e.scope_id, e.kind, name, start) for name, start, _, es in closed for e in es}
    return Counter((scope, name) for scope, _, _, name, _ in seen)


presses = st.lists(
    st.tuples(st.integers(0, 30 * 60), st.sampled_from(["t1", "w1"]), st.integers(1, 4)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(early=presses, late=presses, grace_minutes=st.integers(0, 120))
@example(early=[(0, "t1", 1)], late=[(166, "t1", 1)], grace_minutes=0)  # 15m across 23:00
def test_open_windows_are_the_windows_closed_later(
    early: list[tuple[int, str, int]], late: list[tuple[int, str, int]], grace_minutes: int
) -> None:
    acc = ScoreAccumulator(ZONE, "city", grace_us=grace_minutes * MINUTE_US)
    offset = 0
    for batch in (sorted(early), sorted(late)):
        for minute, device, button in batch:
            at = START + timedelta(minutes=minute)
            acc.add(accepted(at, at, button=button, device=device), (0, offset))
            offset += 1
        acc.close()  # the watermark closes what it passed
    spans: dict[int, tuple[tuple[str, int, int], ...]] = {}
    assert metrics.count_open_windows(acc, windows_of, spans) == metrics.count_open_windows(
        acc, windows_of
    )
    counted = metrics.count_open_windows(acc, windows_of, spans)  # from the cache
    assert grid(counted)
    assert {key: n for key, n in counted.items() if n} == dict(windows(close_everything(acc)))
    drained = metrics.count_open_windows(acc, windows_of)
    assert grid(drained) and set(drained.values()) <= {0}  # zeros, not vanished series


def grid(counts: dict[tuple[str, str], int]) -> bool:
    """Every scope level with every window (0 where none is open)."""
    return set(counts) == {(level, name) for level, _ in counts for name in ("15m", "1h", "1d")}


def close_everything(acc: ScoreAccumulator, now: float = 0.0) -> list[Closed]:
    """Drained, then quiet for 16 minutes: every window holding a press closes. (``drained``
    alone moves event time to the end of the last press's local hour and day; a rolling window
    across that end closes with the quiet time after it.)"""
    acc.idle(0, now=now, drained=True)
    closed = acc.close(now)
    acc.idle(16 * MINUTE_US, now=now)
    return [*closed, *acc.close(now)]


def test_nothing_closed_yet_counts_every_window_of_a_press() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    at = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)
    acc.add(accepted(at, at), (0, 0))
    assert acc.closed is None
    counts = metrics.count_open_windows(acc, windows_of)
    # one press: 15 rolling windows, its local hour and day, in each of its scopes
    assert {window: n for (scope, window), n in counts.items() if scope == "city"} == {
        "15m": 15,
        "1h": 1,
        "1d": 1,
    }
    assert {scope for scope, _ in counts} == {"device", "site", "department", "question", "city"}


def _keeper() -> ScoreKeeper:
    async def send_alert(out: Any, alert: Any) -> None:
        raise AssertionError("no alert expected")

    return ScoreKeeper(
        catalogue=lambda: INDEX,
        send_alert=send_alert,
        alerts=AlertBook(),
        timezone="Europe/Warsaw",
        city_id="city",
        grace_seconds=120,
    )


def test_the_gauge_polls_the_scores_keeper_at_each_scrape() -> None:
    # what the scores stage's start() passes: its keeper's bound ``accumulator``, which raises
    # until the stage is opened over its partition's state
    keeper = _keeper()
    metrics.watch_open_windows("test_scores", keeper.accumulator, windows_of)
    line = 'civicpulse_stream_open_windows{processor="test_scores",scope="city",window="%s"} %s'
    assert 'processor="test_scores"' not in generate_latest().decode()
    keeper.open(Transaction(PartitionState({}, 0, lambda key, value: None)))
    at = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)
    keeper.add(b"0:0", accepted(at, at).model_dump_json().encode(), now=0.0, offset=0)
    page = generate_latest().decode()
    assert line % ("15m", "15.0") in page and line % ("1h", "1.0") in page
    later = at + timedelta(hours=1)
    keeper.add(b"0:1", accepted(later, later).model_dump_json().encode(), now=0.0, offset=1)
    page = generate_latest().decode()  # read again: the second hour is a window more
    assert line % ("1h", "2.0") in page
    # past the warm-up the keeper starts at opening (its clock: time.monotonic)
    close_everything(keeper.accumulator(), now=time.monotonic() + 3600)
    page = generate_latest().decode()  # all closed: zeros, the series stay
    assert all(line % (window, "0.0") in page for window in ("15m", "1h", "1d"))
    keeper.forget()  # the partition went elsewhere: nothing to report
    assert 'processor="test_scores"' not in generate_latest().decode()


def test_a_scrape_thread_reads_while_the_state_changes() -> None:
    acc = ScoreAccumulator(ZONE, "city")
    stop = threading.Event()
    errors: list[BaseException] = []

    def scrape() -> None:
        while not stop.is_set():
            try:
                metrics.count_open_windows(acc, windows_of)
            except RuntimeError:
                pass  # a copy met a change: the collector reads again
            except BaseException as exc:  # anything else is a bug
                errors.append(exc)

    reader = threading.Thread(target=scrape)
    reader.start()
    try:
        for i in range(3000):
            at = START + timedelta(seconds=13 * i)
            acc.add(accepted(at, at, device=("t1", "w1")[i % 2]), (0, i))
            if i % 100 == 0:
                acc.close()
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert sum(metrics.count_open_windows(acc, windows_of).values()) > 0
    close_everything(acc)
    assert sum(metrics.count_open_windows(acc, windows_of).values()) == 0
