"""What the live demo reports at its end: figures read back from ClickHouse and the topics.

``gather`` asks the shared ClickHouse client (embedded chDB allows one process) and reads the
run's verdicts from ``presses.accepted`` / ``presses.rejected`` (one verdict per delivery, so a
network retry's copy is judged too) to score the filter against the simulator's labels, and
``deadletter`` for the presses that never got a verdict. Every press the simulator sent is
accounted for: stored (once per event id), a re-delivery of a stored press (judged again,
stored once) or dead-lettered (malformed); :attr:`DemoSummary.unaccounted` is what is left and
is 0 on a healthy run. The one-line ``SUMMARY ...`` form is pure and parseable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import (
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    topic_name,
)
from civicpulse.simulator.evaluate import evaluate

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "DemoSummary",
    "dead_lettered_presses",
    "gather",
    "read_since",
    "read_verdicts",
    "stored_ids",
    "stored_presses",
    "summary_line",
]

STORED_SQL = (
    "SELECT uniqExact(event_id) FROM presses WHERE received_at >= {since:DateTime64(3, 'UTC')}"
)
VERDICTS_SQL = (
    "SELECT toString(verdict), count() FROM presses FINAL "
    "WHERE received_at >= {since:DateTime64(3, 'UTC')} GROUP BY verdict"
)
IDS_SQL = "SELECT DISTINCT event_id FROM presses WHERE received_at >= {since:DateTime64(3, 'UTC')}"
WINDOWS_SQL = "SELECT count() FROM scores FINAL WHERE window_end > {since:DateTime64(3, 'UTC')}"
ALERTS_SQL = (
    "SELECT count() FROM alerts FINAL "
    "WHERE state = 'opened' AND window_end > {since:DateTime64(3, 'UTC')}"
)


@dataclass(frozen=True)
class DemoSummary:
    #: deliveries of the simulator's presses the broker acknowledged
    presses_sent: int
    #: distinct simulator presses (event ids) in ClickHouse
    presses_stored: int
    counted: int
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)
    score_windows: int = 0
    alerts: int = 0
    precision: float | None = None
    recall: float | None = None
    verify_ok: bool = False
    verify_detail: str = ""
    #: deliveries of a press already judged (a lost ack's retry): judged again, stored once
    redelivered: int = 0
    #: presses that never got a verdict (malformed): on ``deadletter`` with the reason
    deadlettered: int = 0
    #: other presses stored since the start: made on the demo's pages (widget, kiosk), or an
    #: earlier run's last seconds (the run starts at the beginning of its minute)
    from_pages: int = 0

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    @property
    def unaccounted(self) -> int:
        """Sent, but neither stored nor re-delivered nor dead-lettered (0 unless lost)."""
        return self.presses_sent - self.presses_stored - self.redelivered - self.deadlettered


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def summary_line(summary: DemoSummary) -> str:
    """``SUMMARY presses_sent=N ... verify=ok|failed``: one line, ``key=value`` pairs."""
    pairs = {
        "presses_sent": str(summary.presses_sent),
        "presses_stored": str(summary.presses_stored),
        "redelivered": str(summary.redelivered),
        "deadlettered": str(summary.deadlettered),
        "unaccounted": str(summary.unaccounted),
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


def read_since(settings: Settings, topics: Sequence[str], since_ms: int, timeout: float = 30.0
               ) -> list[dict[str, Any]]:  # fmt: skip
    """Every message (its JSON value) on ``topics`` with a timestamp from ``since_ms`` on."""
    from confluent_kafka import TopicPartition

    from civicpulse.infra import kafka_clients

    consumer = kafka_clients.consumer(settings, "civicpulse-demo-summary", "demo-summary")
    try:
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
            out.append(orjson.loads(message.value()))
            if message.offset() + 1 >= ends[(message.topic(), message.partition())]:
                pending.discard((message.topic(), message.partition()))
        return out
    finally:
        consumer.close()


def read_verdicts(settings: Settings, since_ms: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every judged delivery on the verdict topics since ``since_ms``, in ``received_at`` order."""
    topics = [topic_name(t, settings.topic_prefix) for t in (PRESSES_ACCEPTED, PRESSES_REJECTED)]
    out = [
        {
            "event_id": value.get("event_id"),
            "verdict": value.get("verdict"),
            "received_at": value.get("received_at", ""),
        }
        for value in read_since(settings, topics, since_ms, timeout)
    ]
    out.sort(key=lambda v: str(v["received_at"]))
    return out


def dead_lettered_presses(settings: Settings, since_ms: int) -> int:
    """Messages of ``presses.raw`` put on ``deadletter`` since ``since_ms`` (malformed ones)."""
    raw = topic_name(PRESSES_RAW, settings.topic_prefix)
    letters = read_since(settings, [topic_name(DEADLETTER, settings.topic_prefix)], since_ms)
    return sum(1 for letter in letters if letter.get("source_topic") == raw)


def stored_ids(client: Client, since: datetime) -> set[str]:
    """Event ids of the presses received since ``since`` that ClickHouse holds."""
    rows = client.query(IDS_SQL, parameters={"since": since}).result_rows
    return {str(row[0]) for row in rows}


def gather(
    client: Client,
    settings: Settings,
    *,
    since: datetime,
    sent: int,
    labels: Sequence[Mapping[str, Any]],
    verify: tuple[bool, str],
) -> DemoSummary:
    """The run's figures: ``since`` is the demo's start (wall clock, UTC); ``labels`` one entry
    per press the simulator sent (``event_id`` None for a malformed one)."""
    verdicts = client.query(VERDICTS_SQL, parameters={"since": since}).result_rows
    by_verdict = {str(v): int(n) for v, n in verdicts}
    windows = client.query(WINDOWS_SQL, parameters={"since": since}).result_rows[0][0]
    alerts = client.query(ALERTS_SQL, parameters={"since": since}).result_rows[0][0]
    since_ms = int(since.timestamp() * 1000) - 5_000
    evaluation = evaluate(labels, read_verdicts(settings, since_ms))
    ids = [str(label["event_id"]) for label in labels if label.get("event_id") is not None]
    sent_ids = set(ids)
    stored = stored_ids(client, since)
    counted = by_verdict.pop("counted", 0)
    return DemoSummary(
        presses_sent=sent,
        presses_stored=len(stored & sent_ids),
        counted=counted,
        rejected_by_reason=dict(sorted(by_verdict.items())),
        score_windows=int(windows),
        alerts=int(alerts),
        precision=evaluation.precision,
        recall=evaluation.recall,
        verify_ok=verify[0],
        verify_detail=verify[1],
        redelivered=len(ids) - len(sent_ids),
        deadlettered=dead_lettered_presses(settings, since_ms),
        from_pages=len(stored - sent_ids),
    )
