"""The Faust application: anti-spam agent, scoring hop, scores + alerts agent (thin wiring).

Everything that decides something lives in the pure modules (``judge``, ``antispam``,
``accumulator``, ``alerts``); this module moves bytes between topics and tables:

* ``antispam`` on presses.raw (batches of ``batch_size``): ``Judge`` per partition group, state in
  the table ``antispam`` (co-partitioned with presses.raw), outputs to presses.accepted /
  presses.rejected / deadletter. A bad message is dead-lettered, never fatal.
* ``scoring_hop`` forwards presses.accepted to the internal one-partition topic
  ``<app id>-scoring`` so that one place sees the whole city.
* ``scores`` on that topic: ``ScoreAccumulator`` (table ``scores``, one partition), closed
  windows to ``scores``, alert steps on each closed 15-min window to ``alerts.<department>`` and
  ``alerts.all``. A timer moves event time on while no press arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicpulse.schemas.events import AlertEvent, DeadLetter, JudgedPress
from civicpulse.schemas.topics import (
    ALERTS_ALL,
    CATALOGUE_DEVICES,
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    SCORES,
    topic_name,
)

from .alerts import AlertBook
from .catalogue import CatalogueReader
from .failfast import FailureLedger, die, run_guarded
from .faust_repairs import withhold_ack
from .judge import Judge
from .ordering import InOrder
from .outputs import Outputs, TableStore
from .rules import RuleBook
from .scoring import ScoresStage, scoring_key
from .watchdog import GroupOffsets, install_stall_watchdog

__all__ = ["RAW_PARTITION_HEADER", "StreamConfig", "app_settings", "create_app", "judged_bytes"]

log = logging.getLogger("civicpulse.stream")

#: header of a judged press on presses.accepted: the presses.raw partition it was judged from
#: (the scores stage orders its watermark by raw and accepted partition, see ``scoring``)
RAW_PARTITION_HEADER = "civicpulse-raw-partition"


@dataclass(frozen=True)
class StreamConfig:
    """Everything the worker needs; built from Settings by the CLI."""

    bootstrap: str
    prefix: str = ""
    data_dir: Path = Path(".civicpulse/stream")
    rules: RuleBook = field(default_factory=RuleBook.defaults)
    alerts: AlertBook = field(default_factory=AlertBook)
    city_id: str = "city"
    timezone: str = "Europe/Warsaw"
    grace_seconds: float = 120.0
    batch_size: int = 2000
    batch_within: float = 0.2
    tick_seconds: float = 5.0
    #: seconds without a press after which the scores stage takes the stream as drained and
    #: closes every window holding a press (the hour and day windows of a replayed backlog)
    drain_seconds: float = 30.0
    #: a worker that dies without leaving the group holds its partitions this long (Faust's
    #: default of 60 s would stall a restarted worker for a minute)
    session_timeout: float = 10.0
    #: seconds a held source partition may have a backlog without committed progress
    #: before the watchdog seeks it back to that offset, and again before it exits the worker
    stall_seconds: float = 30.0
    #: which agents run: "antispam" and/or "scores" (the benchmark runs anti-spam alone)
    stages: frozenset[str] = frozenset({"antispam", "scores"})
    web_port: int | None = None

    @property
    def app_id(self) -> str:
        return f"{self.prefix}civicpulse-stream"

    def topic(self, logical: Any) -> str:
        return topic_name(logical, self.prefix)


def judged_bytes(press: JudgedPress) -> bytes:
    """The wire form of a JudgedPress (same shape as the model's JSON)."""
    return press.model_dump_json(exclude_none=True).encode()


def app_settings(config: StreamConfig) -> dict[str, Any]:
    """The Faust settings of the worker (also used by the benchmark's no-op ceiling app)."""
    return {
        "broker": f"kafka://{config.bootstrap}",
        "store": "memory://",
        "datadir": str(config.data_dir),
        "web_enabled": config.web_port is not None,
        "web_bind": "127.0.0.1",
        "web_port": config.web_port or 6066,
        "topic_partitions": PRESSES_RAW.partitions,
        "topic_replication_factor": 1,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": 1.0,
        "stream_buffer_maxsize": max(4096, 2 * config.batch_size),
        "broker_max_poll_records": config.batch_size,
        "consumer_max_fetch_size": 4 * 1024**2,
        "producer_acks": -1,
        "broker_session_timeout": config.session_timeout,
        "broker_heartbeat_interval": min(3.0, config.session_timeout / 3),
    }


def create_app(config: StreamConfig) -> Any:
    """The Faust app with its topics, tables, agents and timer."""
    import faust
    from faust.types import TP

    app = faust.App(config.app_id, **app_settings(config))
    raw = app.topic(config.topic(PRESSES_RAW), key_serializer="raw", value_serializer="raw")
    accepted = app.topic(
        config.topic(PRESSES_ACCEPTED), key_serializer="raw", value_serializer="raw"
    )
    scoring = app.topic(
        f"{config.app_id}-scoring",
        partitions=1,
        internal=True,
        key_serializer="raw",
        value_serializer="raw",
    )
    antispam_table = app.Table("antispam", partitions=PRESSES_RAW.partitions, key_type=str)
    scores_table = app.Table("scores", partitions=1, key_type=str)
    names = {
        "accepted": config.topic(PRESSES_ACCEPTED),
        "rejected": config.topic(PRESSES_REJECTED),
        "deadletter": config.topic(DEADLETTER),
        "scores": config.topic(SCORES),
        "alerts_all": config.topic(ALERTS_ALL),
    }
    runtime: dict[str, Any] = {}

    def outputs() -> Outputs:
        if "outputs" not in runtime:
            runtime["outputs"] = Outputs(config.bootstrap)
        return runtime["outputs"]  # type: ignore[no-any-return]

    def catalogue() -> CatalogueReader:
        return runtime["catalogue"]  # type: ignore[no-any-return]

    async def _start_catalogue() -> None:
        # Read before judging anything: the agents wait on this event.
        reader = CatalogueReader(config.bootstrap, config.topic(CATALOGUE_DEVICES))
        await asyncio.get_running_loop().run_in_executor(None, reader.start)
        runtime["catalogue"] = reader
        ready.set()

    ready = asyncio.Event()

    # The worker's group as the broker sees it: where each partition starts, and the watchdog.
    group_offsets = GroupOffsets(config.bootstrap, config.app_id)
    order = InOrder()
    sought: dict[int, tuple[int, float]] = {}

    async def start_partitions(partitions: list[int]) -> None:
        loop = asyncio.get_running_loop()
        topic = raw.get_topic_name()
        while True:
            try:
                backlog = await loop.run_in_executor(
                    None, group_offsets.read, [(topic, p) for p in partitions]
                )
                break
            except Exception as exc:  # the broker may be away: nothing can move meanwhile
                log.warning("cannot read the committed offsets of %s: %s; retrying", topic, exc)
                await asyncio.sleep(1.0)
        for (_topic, partition), held in backlog.items():
            order.start(partition, held.committed)
            log.info("presses.raw[%d]: judging from offset %d", partition, held.committed)

    async def seek_back(partition: int) -> None:
        # One seek per hole: the presses already buffered behind it are held back too, and the
        # seek re-reads them all. Another seek only if the partition has not moved for a while.
        offset = order.next_offset(partition)
        last = sought.get(partition)
        if last is not None and last[0] == offset and time.monotonic() - last[1] < 5.0:
            return
        sought[partition] = (offset, time.monotonic())
        log.warning("presses.raw[%d]: out of order delivery; seeking back to %d", partition, offset)
        await app.consumer.seek(TP(raw.get_topic_name(), partition), offset)

    ledger = FailureLedger(config.data_dir / "failures.json")

    async def antispam_batch(events: list[Any], store: TableStore) -> None:
        judge = Judge(catalogue().index(), config.rules, store)
        out = outputs()
        by_partition: dict[int, list[Any]] = {}
        for event in events:
            by_partition.setdefault(event.message.partition, []).append(event)
        unknown = [p for p in by_partition if not order.knows(p)]
        if unknown:
            await start_partitions(unknown)
        holes: set[int] = set()
        for partition, part in by_partition.items():
            store.partition = partition
            for event in part:
                if order.admit(partition, event.message.offset) == "hole":
                    withhold_ack(event)
                    holes.add(partition)
                    continue
                _judge_one(judge, event, out, names)
            judge.flush()
        await out.flush()
        for partition in sorted(holes):
            await seek_back(partition)

    async def antispam(stream: Any) -> None:
        await ready.wait()
        store = TableStore(antispam_table, outputs())

        async def batch(events: list[Any]) -> None:
            await antispam_batch(events, store)

        await run_guarded("antispam", stream, config, ledger, batch, dead)

    async def hop_batch(events: list[Any]) -> None:
        out = outputs()
        for event in events:
            message = event.message
            key = scoring_key(message.partition, message.offset, _raw_partition(message))
            out.send(scoring.get_topic_name(), key, message.value)
        await out.flush()

    async def scoring_hop(stream: Any) -> None:
        await run_guarded("scoring_hop", stream, config, ledger, hop_batch, dead)

    lock = asyncio.Lock()
    scores_tp = TP(scoring.get_topic_name(), 0)
    stage = ScoresStage(
        table=scores_table,
        outputs=outputs,
        catalogue=catalogue,
        send_alert=lambda out, alert: _send_alert(out, names, config, alert),
        scores_topic=names["scores"],
        alerts=config.alerts,
        timezone=config.timezone,
        city_id=config.city_id,
        grace_seconds=config.grace_seconds,
    )

    async def scores_batch(events: list[Any]) -> None:
        async with lock:
            now = time.monotonic()
            for event in events:
                try:
                    stage.add(event.message.key, event.message.value, now)
                except Exception as exc:  # one bad message must never stop the stream
                    log.exception("scoring a press failed")
                    dead(event, f"{type(exc).__name__}: {exc}", "stream.scores")
            await stage.flush(now)

    async def scores(stream: Any) -> None:
        await ready.wait()
        await run_guarded("scores", stream, config, ledger, scores_batch, dead)

    async def tick() -> None:
        try:
            if not ready.is_set() or scores_tp not in app.consumer.assignment():
                stage.forget()  # not ours (any more): rebuild from the table when it is
                return
            async with lock:
                now = time.monotonic()
                last = max(stage.last_press, runtime.get("last_tick", now))
                quiet = now - stage.last_press
                if quiet >= config.tick_seconds:
                    drained = quiet >= config.drain_seconds
                    stage.idle(int((now - last) * 1e6), now=now, drained=drained)
                runtime["last_tick"] = now
                await stage.flush(now)
        except Exception as exc:
            die("scores tick", exc)

    def dead(event: Any, error: str, stage_name: str = "stream") -> None:
        _dead(outputs(), names, event.message, error, stage_name)

    async def _revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        stage.forget()

    async def _reassigned(sender: Any, /, *args: Any, **kwargs: Any) -> None:
        order.forget()  # Faust seeks every partition back to its committed offset

    app.task(_start_catalogue)
    if "antispam" in config.stages:
        app.agent(raw, name="antispam")(antispam)
        app.on_partitions_revoked.connect(_reassigned)
        app.on_partitions_assigned.connect(_reassigned)
    if "scores" in config.stages:
        app.agent(accepted, name="scoring_hop")(scoring_hop)
        app.agent(scoring, name="scores")(scores)
        app.timer(interval=config.tick_seconds)(tick)
        app.on_partitions_revoked.connect(_revoked)
    sources = [raw] if "antispam" in config.stages else []
    sources += [accepted, scoring] if "scores" in config.stages else []
    install_stall_watchdog(
        app,
        {topic.get_topic_name() for topic in sources},
        offsets=group_offsets,
        after=config.stall_seconds,
    )
    return app


def _judge_one(judge: Judge, event: Any, out: Outputs, names: dict[str, str]) -> None:
    message = event.message
    try:
        result = judge.judge(message.value, message.offset)
        if isinstance(result, str):
            _dead(out, names, message, result)
            return
        topic = names["accepted"] if result.verdict == "counted" else names["rejected"]
        headers = [(RAW_PARTITION_HEADER, str(message.partition).encode())]
        out.send(topic, result.device_id.encode(), judged_bytes(result), headers=headers)
    except Exception as exc:  # one bad message must never stop the stream
        log.exception("press at %s[%s]@%s failed", message.topic, message.partition, message.offset)
        _dead(out, names, message, f"{type(exc).__name__}: {exc}")


def _dead(
    out: Outputs, names: dict[str, str], message: Any, error: str, stage: str = "stream.antispam"
) -> None:
    letter = DeadLetter.of(
        message.value or b"",
        error,
        stage,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
    )
    out.send(names["deadletter"], message.key, letter.model_dump_json().encode())


def _raw_partition(message: Any) -> int | None:
    """The presses.raw partition a judged press came from (header set by the anti-spam agent)."""
    headers = message.headers or ()
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        if name == RAW_PARTITION_HEADER:
            return int(value)
    return None


def _send_alert(
    out: Outputs, names: dict[str, str], config: StreamConfig, alert: AlertEvent
) -> None:
    from civicpulse.infra.topics import ensure_alert_topics

    value = alert.model_dump_json().encode()
    key = f"{alert.scope}:{alert.scope_id}".encode()
    department_topic = config.topic(f"alerts.{alert.department_id}")
    known: set[str] = _KNOWN_ALERT_TOPICS.setdefault(config.app_id, set())
    if department_topic not in known:
        ensure_alert_topics(config.bootstrap, [alert.department_id], config.prefix)
        known.add(department_topic)
    out.send(department_topic, key, value)
    out.send(names["alerts_all"], key, value)
    log.info(
        "alert %s %s %s score=%.1f n=%d",
        alert.state,
        alert.scope,
        alert.scope_id,
        alert.score,
        alert.n,
    )


_KNOWN_ALERT_TOPICS: dict[str, set[str]] = {}
