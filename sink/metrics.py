"""The sink's Prometheus metrics (``civicpulse_sink_*``), updated by ``sink.writer.Sink``.

They live in prometheus_client's default registry: in ``civicpulse up`` the sink runs in the
API's process and appears on the API's ``/metrics``; ``civicpulse sink`` on its own serves them
on ``CIVICPULSE_METRICS_PORT`` (127.0.0.1; unset: none). Labels: table and physical topic only.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_ROWS",
    "COMMITS",
    "DEAD_LETTERS",
    "INSERT_SECONDS",
    "LAST_COMMIT",
    "MESSAGES",
    "ROWS_WRITTEN",
    "serve",
]

MESSAGES = Counter(
    "civicpulse_sink_messages", "Messages the sink read, by physical topic", ["topic"]
)
ROWS_WRITTEN = Counter(
    "civicpulse_sink_rows_written",
    "Rows inserted and accepted by ClickHouse, by table (a re-delivered row counts again; the "
    "table keeps it once)",
    ["table"],
)
BATCH_ROWS = Histogram(
    "civicpulse_sink_batch_rows",
    "Rows in one partition batch inserted at a checkpoint, by table",
    ["table"],
    buckets=(1, 10, 50, 100, 500, 1000, 5000, 10000, 50000),
)
INSERT_SECONDS = Histogram(
    "civicpulse_sink_insert_seconds",
    "Seconds one batch's insert took (retries and bisection included), by table",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DEAD_LETTERS = Counter(
    "civicpulse_sink_dead_letters",
    "Messages the sink dead-lettered (undecodable, or refused by the table), by source topic",
    ["topic"],
)
COMMITS = Counter(
    "civicpulse_sink_offsets_committed",
    "Partition offsets the sink committed after their rows were stored, by physical topic",
    ["topic"],
)
LAST_COMMIT = Gauge(
    "civicpulse_sink_last_commit_timestamp_seconds", "Unix time of the sink's last checkpoint"
)


def serve(port: int) -> None:
    """Serve /metrics on 127.0.0.1:``port`` in a daemon thread (``civicpulse sink`` alone)."""
    from prometheus_client import start_http_server

    from civicpulse.sink.exceptions import SinkError

    try:
        start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        raise SinkError(f"cannot serve metrics on 127.0.0.1:{port}: {exc}") from None
