"""The stream worker's Prometheus metrics (served on ``CIVICPULSE_METRICS_PORT``, see ``serve``).

Every name starts ``civicpulse_stream_`` and carries its unit; labels stay bounded (processor,
outcome, physical topic, table, partition: never a device or a press). Who updates what:

* ``runner.ProcessorAgent``: records in by outcome, records out by topic, dead letters, batch
  and commit latency, state keys of its table;
* a windowing processor (``stream.stages.scores.processor``): its watermark, and once, at
  start, ``watch_open_windows`` (a read-only callback this module polls at each scrape: how many
  windows holding a press are still open, per scope level and window);
* ``watchdog`` (the timer that already reads every held partition's backlog): consumer lag;
* ``serve`` (called once by ``stream.worker.run_worker``): the worker's start time and a starts
  counter; a supervisor (``civicpulse up``) counts the restarts it made in its own process
  (``civicpulse_supervisor_restarts_total``, ``civicpulse.supervisor``).

The metrics live in prometheus_client's default registry: one worker per process.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from civicpulse.stream.exceptions import StreamError

__all__ = [
    "BATCH_SECONDS",
    "COMMIT_SECONDS",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "OPEN_WINDOWS",
    "RECORDS_IN",
    "RECORDS_OUT",
    "STATE_KEYS",
    "WATERMARK",
    "WindowSpan",
    "WindowedState",
    "count_open_windows",
    "serve",
    "watch_open_windows",
]

#: seconds; a batch is up to batch_size records, a commit one or two producer flushes
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RECORDS_IN = Counter(
    "civicpulse_stream_records_in",
    "Source records a processor read, by outcome: processed (handed to the processor), "
    "skipped (at or below the stored processed offset), held_back (behind an offset hole), "
    "undecodable (dead-lettered by decode)",
    ["processor", "outcome"],
)
RECORDS_OUT = Counter(
    "civicpulse_stream_records_out",
    "Output records a processor emitted, counted when their checkpoint committed (the broker "
    "acknowledged them), by physical topic (anti-spam's accepted and rejected are its verdicts)",
    ["processor", "topic"],
)
DEAD_LETTERS = Counter(
    "civicpulse_stream_dead_letters",
    "Records a processor sent to the dead-letter topic (undecodable, refused, or failing "
    "every time)",
    ["processor"],
)
BATCH_SECONDS = Histogram(
    "civicpulse_stream_batch_seconds",
    "Seconds one agent batch took, commit included",
    ["processor"],
    buckets=_LATENCY_BUCKETS,
)
COMMIT_SECONDS = Histogram(
    "civicpulse_stream_commit_seconds",
    "Seconds one checkpoint commit took (outputs flushed, state and processed offsets written)",
    ["processor"],
    buckets=_LATENCY_BUCKETS,
)
LAST_COMMIT = Gauge(
    "civicpulse_stream_last_commit_timestamp_seconds",
    "Unix time of the processor's last finished checkpoint commit",
    ["processor"],
)
STATE_KEYS = Gauge(
    "civicpulse_stream_state_keys",
    "Keys in a processor table's local store (the partitions this worker holds)",
    ["table"],
)
CONSUMER_LAG = Gauge(
    "civicpulse_stream_consumer_lag_records",
    "Records between the group's committed offset and the log end of a source partition this "
    "worker holds (read by the stall watchdog every few seconds)",
    ["topic", "partition"],
)
WATERMARK = Gauge(
    "civicpulse_stream_watermark_timestamp_seconds",
    "Event-time watermark of a windowing processor (unix seconds; windows ending before it are "
    "closed), set after each batch and tick",
    ["processor"],
)
STARTED = Gauge(
    "civicpulse_stream_worker_start_time_seconds", "Unix time this worker process started"
)
STARTS = Counter(
    "civicpulse_stream_worker_starts",
    "Worker starts in this process (1; the restarts of a supervisor: "
    "civicpulse_supervisor_restarts_total)",
)


# -- open windows (polled at each scrape) -----------------------------------------------------

_MINUTE_US = 60_000_000
#: no window is longer than a local day of 25 hours: older minutes are in closed windows only
_LONGEST_WINDOW_MINUTES = 25 * 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPEN_WINDOWS_NAME = "civicpulse_stream_open_windows"
_OPEN_WINDOWS_HELP = (
    "Windows of a windowing processor that hold a press and are not closed (emitted) yet, by "
    "scope level (city, department, site, device, question) and window (15m, 1h, 1d); read from "
    "the processor's state at each scrape"
)


class WindowSpan(Protocol):
    """One window a minute falls in (the scores stage's ``windows.Window``)."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def name(self) -> str: ...


class WindowedState(Protocol):
    """What a windowing processor's state shows the metrics (the scores stage's accumulator)."""

    @property
    def by_minute(self) -> Mapping[int, AbstractSet[tuple[str, ...]]]:
        """Epoch minute -> the scope keys (level first) with a press in that minute."""

    @property
    def closed(self) -> int | None:
        """Every window ending at or before this (epoch microseconds) was emitted; None: none."""

    @property
    def zone(self) -> tzinfo:
        """The city's time zone (local hours and days)."""


#: (a moment, the city's zone) -> the windows holding it (the scores stage's ``windows_of``)
WindowsOf = Callable[[datetime, tzinfo], Iterable[WindowSpan]]
#: one minute's windows: (window name, start us, end us)
_Spans = tuple[tuple[str, int, int], ...]


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def count_open_windows(
    state: WindowedState, windows_of: WindowsOf, spans: dict[int, _Spans] | None = None
) -> dict[tuple[str, str], int]:
    """(scope level, window name) -> windows holding a press that end after ``state.closed``.

    Every scope level and window name of the presses of the last day (the longest window) is
    there, 0 when none is open: a drained stream shows zeros, not a series that vanishes.
    ``spans`` caches each minute's windows between calls (pass the same dict each time). The
    state is read through C-level copies (``list`` of a dict, ``tuple`` of a set), so a scrape
    thread can read it while the event loop changes it; a copy that meets a change mid-way
    raises ``RuntimeError`` and the caller reads again.
    """
    cache = {} if spans is None else spans
    closed = state.closed
    minutes = list(state.by_minute.items())
    horizon = None if closed is None else closed // _MINUTE_US - _LONGEST_WINDOW_MINUTES
    # Minutes whose open windows are the same (e.g. only their local day is still open) share
    # one scope set: C-level set unions, then one pass per distinct list of open windows.
    sharing: dict[tuple[tuple[str, int], ...], set[tuple[str, ...]]] = {}
    names: set[str] = set()
    for minute, scopes in minutes:
        if horizon is not None and minute < horizon:
            continue
        found = cache.get(minute)
        if found is None:
            moment = _EPOCH + timedelta(minutes=minute)
            found = tuple(
                (w.name, _us(w.start), _us(w.end)) for w in windows_of(moment, state.zone)
            )
            cache[minute] = found
        still_open = tuple(
            (name, start) for name, start, end in found if closed is None or end > closed
        )
        sharing.setdefault(still_open, set()).update(tuple(scopes))
        names.update(name for name, _, _ in found)
    levels = {key[0] for keys in sharing.values() for key in keys}
    open_windows = {
        (key, name, start)
        for still_open, keys in sharing.items()
        for key in keys
        for name, start in still_open
    }
    if spans is not None and horizon is not None:
        for minute in [m for m in spans if m < horizon]:
            spans.pop(minute, None)  # two scrapes at once may both drop it
    counts = dict.fromkeys(((level, name) for level in levels for name in names), 0)
    counts.update(Tally((key[0], name) for key, name, _ in open_windows))
    return counts


class _OpenWindows(Collector):
    """``civicpulse_stream_open_windows``: polls each watched processor's state at a scrape."""

    def __init__(self) -> None:
        self._watched: dict[str, tuple[Callable[[], WindowedState], WindowsOf]] = {}
        self._spans: dict[str, dict[int, _Spans]] = {}

    def watch(
        self, processor: str, read: Callable[[], WindowedState], windows_of: WindowsOf
    ) -> None:
        self._watched[processor] = (read, windows_of)
        self._spans[processor] = {}

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for processor, (read, windows_of) in list(self._watched.items()):
            counts = self._read(read, windows_of, self._spans[processor])
            for (scope, window), n in sorted(counts.items()):
                family.add_metric([processor, scope, window], n)
        yield family

    @staticmethod
    def _read(
        read: Callable[[], WindowedState], windows_of: WindowsOf, spans: dict[int, _Spans]
    ) -> dict[tuple[str, str], int]:
        for _ in range(3):
            try:
                return count_open_windows(read(), windows_of, spans)
            except RuntimeError:
                # not opened over its state (no partition held) or changed mid-copy: read again
                continue
        return {}

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            _OPEN_WINDOWS_NAME, _OPEN_WINDOWS_HELP, labels=["processor", "scope", "window"]
        )


OPEN_WINDOWS = _OpenWindows()
REGISTRY.register(OPEN_WINDOWS)


def watch_open_windows(
    processor: str, read: Callable[[], WindowedState], windows_of: WindowsOf
) -> None:
    """Report ``read()``'s open windows at every scrape (cheap for the stream: nothing runs per
    batch). ``read`` raises ``RuntimeError`` while the processor holds no state; a later call for
    the same processor replaces the earlier one."""
    OPEN_WINDOWS.watch(processor, read, windows_of)


def set_lag(held: dict[tuple[str, int], int]) -> None:
    """The lag of every source partition the worker holds now; partitions it lost go away."""
    current = {(topic, str(partition)) for topic, partition in held}
    for labels in _lag_labels() - current:
        CONSUMER_LAG.remove(*labels)
    for (topic, partition), pending in held.items():
        CONSUMER_LAG.labels(topic, str(partition)).set(pending)


def _lag_labels() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for metric in CONSUMER_LAG.collect():
        for sample in metric.samples:
            found.add((sample.labels["topic"], sample.labels["partition"]))
    return found


def serve(port: int) -> int:
    """Serve /metrics on 127.0.0.1:``port`` (0: off) in a daemon thread; returns the port."""
    STARTED.set(time.time())
    STARTS.inc()
    if port:
        try:
            start_http_server(port, addr="127.0.0.1")
        except OSError as exc:
            raise StreamError(f"cannot serve metrics on 127.0.0.1:{port}: {exc}") from None
    return port
