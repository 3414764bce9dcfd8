"""What the live demo reports at its end: figures read back from ClickHouse and the topics.

``gather`` asks the shared ClickHouse client (embedded chDB allows one process) and reads the
run's verdicts from ``presses.accepted`` / ``presses.rejected`` (one verdict per delivery, so a
network retry's copy is judged too) to score the filter against the simulator's labels. The
one-line ``SUMMARY ...`` form is pure and parseable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from civicpulse.producers.simulator_eval import evaluate
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import PRESSES_ACCEPTED, PRESSES_REJECTED, topic_name

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["DemoSummary", "gather", "read_verdicts", "stored_presses", "summary_line"]

STORED_SQL = (
    "SELECT uniqExact(event_id) FROM presses WHERE received_at >= {since:DateTime64(3, 'UTC')}"
)
VERDICTS_SQL = (
    "SELECT toString(verdict), count() FROM presses FINAL "
    "WHERE received_at >= {since:DateTime64(3, 'UTC')} GROUP BY verdict"
)
WINDOWS_SQL = "SELECT count() FROM scores FINAL WHERE window_end > {since:DateTime64(3, 'UTC')}"
ALERTS_SQL = (
    "SELECT count() FROM alerts FINAL "
    "WHERE state = 'opened' AND window_end > {since:DateTime64(3, 'UTC')}"
)


@dataclass(frozen=True)
class DemoSummary:
    presses_sent: int
    presses_stored: int
    counted: int
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)
    score_windows: int = 0
    alerts: int = 0
    precision: float | None = None
    recall: float | None = None
    verify_ok: bool = False
    verify_detail: str = ""

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def summary_line(summary: DemoSummary) -> str:
    """``SUMMARY presses_sent=N ... verify=ok|failed``: one line, ``key=value`` pairs."""
    pairs = {
        "presses_sent": str(summary.presses_sent),
        "presses_stored": str(summary.presses_stored),
        "counted": str(summary.counted),
        "rejected": str(summary.rejected),
        "score_windows": str(summary.score_windows),
        "alerts": str(summary.alerts),
        "precision": _number(summary.precision),
        "recall": _number(summary.recall),
        "verify": "ok" if summary.verify_ok else "failed",
    }
    return "SUMMARY " + " ".join(f"{key}={value}" for key, value in pairs.items())


def stored_presses(client: Client, since: datetime) -> int:
    """Distinct presses received since ``since`` that ClickHouse holds."""
    rows = client.query(
        STORED_SQL,
        parameters={"since": since},
    ).result_rows
    return int(rows[0][0])


def latest_window_end(client: Client) -> datetime | None:
    rows = client.query(
        "SELECT max(window_end) FROM scores WHERE `window` = '15m' HAVING count() > 0"
    ).result_rows
    return rows[0][0] if rows else None


def read_verdicts(settings: Settings, since_ms: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every judged delivery on the verdict topics since ``since_ms``, in ``received_at`` order."""
    from confluent_kafka import TopicPartition

    from civicpulse.infra import kafka_clients

    consumer = kafka_clients.consumer(settings, "civicpulse-demo-summary", "demo-summary")
    try:
        prefix = settings.topic_prefix
        topics = [topic_name(t, prefix) for t in (PRESSES_ACCEPTED, PRESSES_REJECTED)]
        wanted = [
            TopicPartition(topic, p, since_ms)
            for topic in topics
            for p in consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ]
        starts = consumer.offsets_for_times(wanted, timeout=timeout)
        ends = {
            (tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=timeout)[1]
            for tp in wanted
        }
        todo = [tp for tp in starts if 0 <= tp.offset < ends[(tp.topic, tp.partition)]]
        consumer.assign(todo)
        pending = {(tp.topic, tp.partition) for tp in todo}
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            where = (message.topic(), message.partition())
            value = orjson.loads(message.value())
            out.append(
                {
                    "event_id": value.get("event_id"),
                    "verdict": value.get("verdict"),
                    "received_at": value.get("received_at", ""),
                }
            )
            if message.offset() + 1 >= ends[where]:
                pending.discard(where)
        out.sort(key=lambda v: str(v["received_at"]))
        return out
    finally:
        consumer.close()


def gather(
    client: Client,
    settings: Settings,
    *,
    since: datetime,
    sent: int,
    labels: Sequence[Mapping[str, Any]],
    verify: tuple[bool, str],
) -> DemoSummary:
    """The run's figures: ``since`` is the demo's start (wall clock, UTC)."""
    verdicts = client.query(
        VERDICTS_SQL,
        parameters={"since": since},
    ).result_rows
    by_verdict = {str(v): int(n) for v, n in verdicts}
    windows = client.query(
        WINDOWS_SQL,
        parameters={"since": since},
    ).result_rows[0][0]
    alerts = client.query(
        ALERTS_SQL,
        parameters={"since": since},
    ).result_rows[0][0]
    since_ms = int(since.timestamp() * 1000) - 5_000
    evaluation = evaluate(labels, read_verdicts(settings, since_ms))
    return DemoSummary(
        presses_sent=sent,
        presses_stored=sum(by_verdict.values()),
        counted=by_verdict.pop("counted", 0),
        rejected_by_reason=dict(sorted(by_verdict.items())),
        score_windows=int(windows),
        alerts=int(alerts),
        precision=evaluation.precision,
        recall=evaluation.recall,
        verify_ok=verify[0],
        verify_detail=verify[1],
    )
