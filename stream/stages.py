"""The built-in stages as processors: anti-spam, the scoring hop, scores and alerts.

Each is a ``stream.processors.Processor``; the decisions live in the pure modules (``judge``,
``antispam``, ``accumulator``, ``alerts``) and ``runner`` owns offsets, order, flushes and
failures.

* ``AntiSpam`` on presses.raw: ``Judge`` per partition over the table ``antispam``
  (co-partitioned with presses.raw; state written during ``process``, so it is flushed together
  with the verdicts: a re-judged press finds its id at the same offset and gets its first
  verdict), outputs to presses.accepted / presses.rejected / deadletter.
* ``ScoringHop`` forwards presses.accepted to the internal one-partition topic ``scoring`` so
  that one place sees the whole city.
* ``Scores`` on that topic: ``ScoresStage`` (table ``scores``, one partition, its two-phase flush),
  closed windows to ``scores``, alert steps to ``alerts.<department>`` and ``alerts.all``; its
  tick moves event time on while no press arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import ClassVar

from civicpulse.schemas.events import AlertEvent, JudgedPress
from civicpulse.schemas.topics import (
    ALERTS_ALL,
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    SCORES,
    alert_topic_name,
)

from .alerts import AlertBook
from .judge import Judge
from .outputs import Outputs
from .processors import Batch, Context, Internal, Processor, Record, State
from .rules import RuleBook
from .scoring import ScoresStage, scoring_key

__all__ = [
    "RAW_OFFSET_HEADER",
    "RAW_PARTITION_HEADER",
    "SCORING",
    "AntiSpam",
    "Scores",
    "ScoringHop",
    "judged_bytes",
]

log = logging.getLogger("civicpulse.stream")

#: header of a judged press on presses.accepted: the presses.raw partition it was judged from
#: (the scores stage orders its watermark by raw and accepted partition, see ``scoring``)
RAW_PARTITION_HEADER = "civicpulse-raw-partition"
#: ...and its presses.raw offset (a press judged again after a restart keeps it: see ``scoring``)
RAW_OFFSET_HEADER = "civicpulse-raw-offset"
#: the internal topic between the hop and the scores stage
SCORING = Internal("scoring", 1)


def judged_bytes(press: JudgedPress) -> bytes:
    """The wire form of a JudgedPress (same shape as the model's JSON)."""
    return press.model_dump_json(exclude_none=True).encode()


class _Raw(Processor[Record]):
    """A processor that parses its records itself (its own dead-letter reasons)."""

    def decode(self, record: Record) -> Record:
        return record


class AntiSpam(_Raw):
    name: ClassVar[str] = "antispam"
    verb: ClassVar[str] = "judging"
    source = PRESSES_RAW
    outputs = (PRESSES_ACCEPTED, PRESSES_REJECTED, DEADLETTER)
    state = State("antispam", PRESSES_RAW.partitions)

    def __init__(self, rules: RuleBook) -> None:
        self.rules = rules

    async def process(self, batch: Batch[Record]) -> None:
        assert batch.state is not None
        judge = Judge(self.context.catalogue(), self.rules, batch.state)
        for record, _ in batch.events:
            self._judge_one(judge, record, batch)
        judge.flush()

    def _judge_one(self, judge: Judge, record: Record, batch: Batch[Record]) -> None:
        try:
            result = judge.judge(record.value, record.offset)
            if isinstance(result, str):
                batch.dead_letter(record, result)
                return
            topic = PRESSES_ACCEPTED if result.verdict == "counted" else PRESSES_REJECTED
            headers = [
                (RAW_PARTITION_HEADER, str(record.partition).encode()),
                (RAW_OFFSET_HEADER, str(record.offset).encode()),
            ]
            batch.emit(topic, result.device_id.encode(), judged_bytes(result), headers)
        except Exception as exc:  # one bad message must never stop the stream
            log.exception(
                "press at %s[%s]@%s failed", record.topic, record.partition, record.offset
            )
            batch.dead_letter(record, f"{type(exc).__name__}: {exc}")


class ScoringHop(_Raw):
    name: ClassVar[str] = "scoring_hop"
    source = PRESSES_ACCEPTED
    outputs = (SCORING,)

    async def process(self, batch: Batch[Record]) -> None:
        for record, _ in batch.events:
            raw = record.header(RAW_PARTITION_HEADER)
            raw_offset = record.header(RAW_OFFSET_HEADER)
            key = scoring_key(
                record.partition,
                record.offset,
                None if raw is None else int(raw),
                None if raw_offset is None else int(raw_offset),
            )
            batch.emit(SCORING, key, record.value)


class Scores(_Raw):
    name: ClassVar[str] = "scores"
    source = SCORING
    outputs = (SCORES, ALERTS_ALL)
    state = State("scores", 1)

    def __init__(
        self,
        *,
        alerts: AlertBook,
        timezone: str,
        city_id: str,
        grace_seconds: float,
        tick_seconds: float,
        drain_seconds: float,
    ) -> None:
        self.alerts = alerts
        self.timezone = timezone
        self.city_id = city_id
        self.grace_seconds = grace_seconds
        self.tick_seconds = tick_seconds
        self.drain_seconds = drain_seconds
        self._known_topics: set[str] = set()
        self._last_tick: float | None = None
        self.stage: ScoresStage | None = None

    async def start(self, context: Context) -> None:
        await super().start(context)
        assert context.state is not None and context.producer is not None
        state, producer = context.state, context.producer
        self.stage = ScoresStage(
            store=lambda: state(0),  # type: ignore[arg-type,return-value]
            outputs=producer,
            catalogue=context.catalogue,
            send_alert=self._send_alert,
            scores_topic=context.topic(SCORES),
            alerts=self.alerts,
            timezone=self.timezone,
            city_id=self.city_id,
            grace_seconds=self.grace_seconds,
        )
        # The alert topics of the departments known now, created off the event loop.
        departments = [d.department_id for d in context.catalogue().catalogue.departments]
        await self._ensure_alert_topics(departments)

    async def process(self, batch: Batch[Record]) -> None:
        assert self.stage is not None
        now = time.monotonic()
        for record, _ in batch.events:
            try:
                self.stage.add(record.key, record.value, now)
            except Exception as exc:  # one bad message must never stop the stream
                log.exception("scoring a press failed")
                batch.dead_letter(record, f"{type(exc).__name__}: {exc}")
        await self.stage.flush(now)

    async def tick(self) -> None:
        stage = self.stage
        if stage is None:
            return
        now = time.monotonic()
        last = max(stage.last_press, self._last_tick if self._last_tick is not None else now)
        quiet = now - stage.last_press
        backlog = await self._backlog()
        if backlog is not None:
            raw = self.context.topic(PRESSES_RAW)
            stage.hold({p for (topic, p), n in backlog.items() if topic == raw and n > 0})
        if quiet >= (self.tick_seconds or 0.0):
            # Drained: quiet long enough and nothing left to read upstream (a busy machine can
            # be quiet here for a while with presses still on their way).
            drained = (
                quiet >= self.drain_seconds and backlog is not None and not any(backlog.values())
            )
            stage.idle(int((now - last) * 1e6), now=now, drained=drained)
        self._last_tick = now
        await stage.flush(now)

    def release(self) -> None:
        if self.stage is not None:
            self.stage.forget()

    async def _backlog(self) -> dict[tuple[str, int], int] | None:
        """Unread presses upstream of this stage, per partition; None if the broker is away."""
        if self.context.backlog is None:
            return None
        partitions = [
            (self.context.topic(spec), p)
            for spec, count in (
                (PRESSES_RAW, PRESSES_RAW.partitions),
                (PRESSES_ACCEPTED, PRESSES_ACCEPTED.partitions),
                (SCORING, SCORING.partitions),
            )
            for p in range(count)
        ]
        try:
            return await self.context.backlog(partitions)
        except Exception as exc:  # no answer: neither drained nor released
            log.warning("cannot read the stream's backlog: %s", exc)
            return None

    async def _ensure_alert_topics(self, departments: list[str]) -> None:
        from civicpulse.infra.topics import ensure_alert_topics

        missing = [
            d
            for d in departments
            if alert_topic_name(d, self.context.prefix) not in self._known_topics
        ]
        if not missing:
            return
        # A blocking AdminClient call: never on the event loop.
        await asyncio.get_running_loop().run_in_executor(
            None, ensure_alert_topics, self.context.bootstrap, missing, self.context.prefix
        )
        self._known_topics.update(alert_topic_name(d, self.context.prefix) for d in missing)

    async def _send_alert(self, out: Outputs, alert: AlertEvent) -> None:
        await self._ensure_alert_topics([alert.department_id])
        value = alert.model_dump_json().encode()
        key = f"{alert.scope}:{alert.scope_id}".encode()
        out.send(alert_topic_name(alert.department_id, self.context.prefix), key, value)
        out.send(alert_topic_name(None, self.context.prefix), key, value)
        log.info(
            "alert %s %s %s score=%.1f n=%d",
            alert.state,
            alert.scope,
            alert.scope_id,
            alert.score,
            alert.n,
        )
