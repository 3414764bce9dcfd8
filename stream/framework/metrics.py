"""The stream worker's Prometheus metrics (served on ``CIVICPULSE_METRICS_PORT``, see ``serve``).

Every name starts ``civicpulse_stream_`` and carries its unit; labels stay bounded (processor,
outcome, physical topic, table, partition: never a device or a press). Who updates what:

* ``runner.ProcessorAgent``: records in by outcome, records out by topic, dead letters, batch
  and commit latency, state keys of its table;
* a windowing processor (``stream.stages.scores.processor``): its watermark;
* ``watchdog`` (the timer that already reads every held partition's backlog): consumer lag;
* ``serve`` (called once by ``stream.worker.run_worker``): the worker's start time and a starts
  counter; a supervisor (``civicpulse up``) counts the restarts it made in its own process
  (``civicpulse_supervisor_restarts_total``, ``civicpulse.supervisor``).

The metrics live in prometheus_client's default registry: one worker per process.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from civicpulse.stream.exceptions import StreamError

__all__ = [
    "BATCH_SECONDS",
    "COMMIT_SECONDS",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "RECORDS_IN",
    "RECORDS_OUT",
    "STATE_KEYS",
    "WATERMARK",
    "serve",
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
