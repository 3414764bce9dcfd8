"""The Kafka -> ClickHouse sink: batches per partition, insert, then commit.

One checkpoint, in this order (a crash between any two steps loses nothing and, thanks to the
dedup token and ReplacingMergeTree keys, counts nothing twice):

1. insert every non-empty batch into its table with ``insert_deduplication_token`` =
   ``topic:partition:first-last`` (rows the table refuses are isolated by bisection);
2. produce refused messages to ``deadletter`` and wait for the broker's acks;
3. commit ``last offset + 1`` of every batch, synchronously.

A failing insert that is not about the rows (ClickHouse unreachable, ...) is retried with
backoff, then raises: offsets stay uncommitted and the restarted sink re-reads the batch.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from civicpulse.infra import kafka_clients
from civicpulse.schemas.events import DeadLetter
from civicpulse.schemas.topics import DEADLETTER, topic_name
from civicpulse.sink import metrics
from civicpulse.sink.batch import BatchPolicy, DeadRow, PartitionBatch, insert_isolating
from civicpulse.sink.clickhouse import create_client
from civicpulse.sink.exceptions import SinkError
from civicpulse.sink.rows import ROUTES, Route, RowError, decode_row

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from civicpulse.schemas.settings import Settings

__all__ = ["Sink", "SinkStats", "commit_retrying", "is_row_error", "write_rows"]

log = logging.getLogger(__name__)

#: commit errors of a group coordinator that moves (its node died, a cluster's leader changed):
#: the same commit succeeds once the group finds the new one
_COORDINATOR_MOVING = frozenset(
    {"NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE",
     "REQUEST_TIMED_OUT", "_TIMED_OUT", "_TRANSPORT", "_WAIT_COORD"}
)  # fmt: skip


#: commit errors of a sink that is no longer the partitions' owner: its session expired (its
#: coordinator's node was killed and the session ran out before the group found the next one),
#: or a rebalance gave them away. The rows are stored; the next owner reads them again from the
#: last commit and stores them again under ReplacingMergeTree's key, which a query reads once.
_MEMBERSHIP_LOST = frozenset(
    {"UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS", "FENCED_INSTANCE_ID"}
)


def commit_retrying(
    commit: Callable[[], object], within: float = 30.0, sleep: Callable[[float], None] = time.sleep
) -> bool:
    """``commit()``, again while the group coordinator moves (for ``within`` seconds). False if
    the sink lost the partitions meanwhile (``_MEMBERSHIP_LOST``: nothing to commit for, and no
    reason to stop: the consumer rejoins the group on its next poll); any other error is
    raised."""
    from confluent_kafka import KafkaException

    deadline, delay = time.monotonic() + within, 0.2
    while True:
        try:
            commit()
            return True
        except KafkaException as exc:
            name = exc.args[0].name() if exc.args else ""
            if name in _MEMBERSHIP_LOST:
                log.warning(
                    "commit refused (%s): this sink lost its partitions to the group; the "
                    "stored rows are read again by their next owner (a query reads them once)",
                    name,
                )
                return False
            if name not in _COORDINATOR_MOVING or time.monotonic() + delay > deadline:
                raise
            log.warning("commit refused (%s): the group coordinator moves; retrying", name)
            sleep(delay)
            delay = min(delay * 2, 2.0)


# ClickHouse codes that blame the data, not the server: bisect to find the rows.
_ROW_ERROR_CODES = frozenset({6, 27, 41, 53, 70, 72, 117, 321, 349, 469, 691})
_TOO_MANY_PARTITIONS = 252
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def is_row_error(exc: Exception) -> bool:
    """Does ``exc`` say the rows are bad (bisect) rather than the server (retry)?"""
    code = getattr(exc, "code", None)
    if code in _ROW_ERROR_CODES:
        return True
    if code == _TOO_MANY_PARTITIONS and "partitions for single INSERT" in str(exc):
        return True
    # The driver raises these while serialising a value that does not fit its column type.
    return isinstance(exc, TypeError | ValueError | OverflowError) and code is None


def write_rows(
    client: Client, route: Route, rows: list[tuple[Any, ...]], token: str
) -> list[tuple[int, str]]:
    """Insert ``rows`` into the route's table idempotently; return the rows it refused."""

    def insert(part: list[tuple[Any, ...]], part_token: str) -> None:
        client.insert(
            route.table,
            part,
            column_names=list(route.columns),
            settings={"insert_deduplication_token": part_token},
        )

    return insert_isolating(insert, rows, token, is_row_error)


@dataclass
class SinkStats:
    """What the sink stored so far."""

    rows: dict[str, int] = field(default_factory=dict)
    dead: int = 0
    checkpoints: int = 0
    messages: int = 0
    #: monotonic clock of the first message read and of the last commit (throughput figures)
    first_message_at: float | None = None
    last_commit_at: float | None = None


class Sink:
    """Consume the sunk topics into ClickHouse. ``run()`` until ``stop()`` or SIGTERM."""

    def __init__(
        self,
        settings: Settings,
        *,
        group_id: str = "civicpulse-sink",
        policy: BatchPolicy | None = None,
        client: Client | None = None,
        retries: int = 5,
    ) -> None:
        self.settings = settings
        self.group_id = group_id
        self.policy = policy or BatchPolicy()
        self.client = client or create_client(settings)
        self.retries = retries
        self.stats = SinkStats()
        self._stop = threading.Event()
        self._assigned_at: float | None = None
        self._failed = False
        self._batches: dict[tuple[str, int], PartitionBatch] = {}
        prefix = settings.topic_prefix
        self._routes = {topic_name(logical, prefix): route for logical, route in ROUTES.items()}
        self._deadletter_topic = topic_name(DEADLETTER, prefix)
        # read_committed, 10 s session, manual commits; the dead-letter producer is idempotent
        # (the role table of civicpulse.infra.kafka_clients says why each differs).
        self._consumer = kafka_clients.consumer(settings, group_id, "sink")
        self._producer = kafka_clients.producer(settings, "sink")

    # ---- lifecycle ----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run`` to flush, commit and return (safe from signal handlers and threads)."""
        self._stop.set()

    def run(self, *, stop_when_idle: float | None = None) -> SinkStats:
        """Consume until stopped (or idle ``stop_when_idle`` s); always ends with a checkpoint."""
        restore = self._install_signals()
        self._consumer.subscribe(
            list(self._routes),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        last_message = 0.0
        try:
            while not self._stop.is_set():
                messages = self._consumer.consume(
                    num_messages=self.policy.max_rows, timeout=min(0.2, self.policy.max_age)
                )
                now = time.monotonic()
                if messages:
                    last_message = now
                    if self.stats.first_message_at is None:
                        self.stats.first_message_at = now
                    self._add(messages, now)
                if self.policy.due(list(self._batches.values()), now):
                    self.checkpoint()
                # Idle time counts from the assignment: joining the group can take seconds.
                active = max(last_message, self._assigned_at or now)
                if stop_when_idle is not None and now - active >= stop_when_idle:
                    break
            self.checkpoint()
        finally:
            self._consumer.close()
            self._producer.flush(10)
            # librdkafka's threads live as long as the producer object, and a caller may keep
            # the Sink (``civicpulse up`` prints its stats): without this, the demo's last
            # terminal line was a reconnect to the broker it had stopped since
            del self._producer
            restore()
        return self.stats

    def _install_signals(self) -> Any:
        """SIGTERM/SIGINT end the loop gracefully: flush, commit, close."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in _STOP_SIGNALS}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    # ---- batching -----------------------------------------------------------------------

    def _add(self, messages: Iterable[Any], now: float) -> None:
        for message in messages:
            error = message.error()
            if error is not None:
                # Partition EOF and transient broker errors are reported, not fatal.
                if error.fatal():
                    raise SinkError(f"Kafka consumer failed: {error}")
                log.warning("Kafka: %s", error)
                continue
            topic, partition = message.topic(), message.partition()
            batch = self._batches.get((topic, partition))
            if batch is None:
                batch = self._batches[(topic, partition)] = PartitionBatch(topic, partition, now)
            payload = message.value() or b""
            self.stats.messages += 1
            metrics.MESSAGES.labels(topic).inc()
            try:
                row = decode_row(self._routes[topic], message.value())
            except RowError as exc:
                batch.add_dead(message.offset(), payload, str(exc))
            else:
                batch.add(message.offset(), row, payload)

    # ---- checkpoint ---------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Insert every batch, dead-letter refused rows, then commit their offsets."""
        batches = [batch for batch in self._batches.values() if batch.size]
        if not batches:
            return
        try:
            for batch in batches:
                self._insert_with_retry(batch)
            self._send_dead_letters(batches)
        except Exception:
            # Nothing is committed; closing the consumer must not retry (see _on_revoke).
            self._failed = True
            raise
        from confluent_kafka import TopicPartition

        offsets = [
            TopicPartition(batch.topic, batch.partition, batch.commit_offset) for batch in batches
        ]
        committed = commit_retrying(
            lambda: self._consumer.commit(offsets=offsets, asynchronous=False)
        )
        for batch in batches:  # stored either way: a batch not committed is its next owner's
            del self._batches[(batch.topic, batch.partition)]
        if not committed:
            return
        for batch in batches:
            metrics.COMMITS.labels(batch.topic).inc()
        metrics.LAST_COMMIT.set_to_current_time()
        self.stats.checkpoints += 1
        self.stats.last_commit_at = time.monotonic()

    def _insert_with_retry(self, batch: PartitionBatch) -> None:
        route = self._routes[batch.topic]
        delay = 0.5
        started = time.perf_counter()
        for attempt in range(self.retries + 1):
            try:
                refused = write_rows(self.client, route, batch.rows, batch.dedup_token)
                break
            except Exception as exc:
                if attempt == self.retries:
                    raise SinkError(
                        f"ClickHouse did not accept the batch {batch.dedup_token} after "
                        f"{self.retries + 1} attempts: {exc}. Offsets are not committed; fix "
                        "ClickHouse and restart `civicpulse sink` to resume from that batch."
                    ) from exc
                log.warning("insert of %s failed (%s); retrying", batch.dedup_token, exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        for index, reason in refused:
            batch.dead.append(
                DeadRow(
                    batch.row_offsets[index],
                    batch.payloads[index],
                    f"{route.table} refused the row: {reason}",
                )
            )
        stored = len(batch.rows) - len(refused)
        table = self.stats.rows
        table[route.table] = table.get(route.table, 0) + stored
        metrics.INSERT_SECONDS.labels(route.table).observe(time.perf_counter() - started)
        metrics.BATCH_ROWS.labels(route.table).observe(len(batch.rows))
        metrics.ROWS_WRITTEN.labels(route.table).inc(stored)
        # Rows are stored: keep the payloads only as long as the dead letters need them.
        batch.rows.clear()
        batch.payloads.clear()
        batch.row_offsets.clear()

    def _send_dead_letters(self, batches: list[PartitionBatch]) -> None:
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        for batch in batches:
            for dead in batch.dead:
                letter = DeadLetter.of(
                    dead.payload,
                    dead.error,
                    "sink",
                    source_topic=batch.topic,
                    source_partition=batch.partition,
                    source_offset=dead.offset,
                )
                self._producer.produce(
                    self._deadletter_topic,
                    key=batch.topic.encode(),
                    value=letter.model_dump_json().encode(),
                    on_delivery=delivered,
                )
                self.stats.dead += 1
                metrics.DEAD_LETTERS.labels(batch.topic).inc()
        remaining = self._producer.flush(30)
        if remaining or failures:
            raise SinkError(
                f"could not deliver dead letters to {self._deadletter_topic} "
                f"({remaining} pending, errors: {failures[:3]}); offsets are not committed."
            )

    # ---- rebalance ----------------------------------------------------------------------

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        self._assigned_at = time.monotonic()

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        # Still the owner until this returns: store and commit what was read, unless a
        # checkpoint already failed (then the next owner re-reads the uncommitted batch).
        if not self._failed:
            self.checkpoint()

    def _on_lost(self, _consumer: Any, partitions: list[Any]) -> None:
        # Another member owns them already; the uncommitted rows will be re-read there.
        for tp in partitions:
            self._batches.pop((tp.topic, tp.partition), None)
