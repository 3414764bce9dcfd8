"""The scores processors: the scoring hop and the scores stage with its alerts.

* ``ScoringHopProcessor`` forwards presses.accepted to the internal one-partition topic
  ``scoring`` so that one place sees the whole city, packed in bundles (``bundle``).
* ``ScoresProcessor`` on that topic: a ``ScoreKeeper`` (table ``scores``, one partition, settled
  into the batch's or tick's checkpoint), closed windows to ``scores``, alert steps to
  ``alerts.<department>`` and ``alerts.all``; its tick moves event time on while no press
  arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.topics import (
    ALERTS_ALL,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    SCORES,
    alert_topic_name,
    alerts_topic,
)
from civicpulse.stream.framework import metrics
from civicpulse.stream.framework.processors import (
    Batch,
    Context,
    Internal,
    RawProcessor,
    Record,
    State,
    Tick,
)
from civicpulse.stream.stages.alerts.state_machine import AlertBook
from civicpulse.stream.stages.antispam.processor import RAW_OFFSET_HEADER, RAW_PARTITION_HEADER
from civicpulse.stream.stages.scores.bundle import BundleError, pack, unpack
from civicpulse.stream.stages.scores.census import Reading
from civicpulse.stream.stages.scores.stage import Out, ScoreKeeper, scoring_key
from civicpulse.stream.stages.scores.windows import windows_of

if TYPE_CHECKING:
    from civicpulse.stream.framework.watchdog import Backlog

__all__ = ["SCORING", "ScoresProcessor", "ScoringHopProcessor"]

log = logging.getLogger("civicpulse.stream")

#: the internal topic between the hop and the scores stage
SCORING = Internal("scoring", 1)


class ScoringHopProcessor(RawProcessor):
    name: ClassVar[str] = "scoring_hop"
    source = PRESSES_ACCEPTED
    outputs = (SCORING,)
    #: a press passes three stages before an alert: shorter waits here and in the scores agent
    #: (which reads a few bundles a cycle) keep press -> alert near press -> verdict
    batch_within: ClassVar[float | None] = 0.1

    async def process(self, batch: Batch[Record]) -> None:
        presses = []
        for record, _ in batch.events:
            raw = record.header(RAW_PARTITION_HEADER)
            raw_offset = record.header(RAW_OFFSET_HEADER)
            key = scoring_key(
                record.partition,
                record.offset,
                None if raw is None else int(raw),
                None if raw_offset is None else int(raw_offset),
            )
            presses.append((key, record.value))
        # One message per bundle: the scores agent pays Faust's per-message cost once (``bundle``).
        for bundle in pack(presses):
            batch.emit(SCORING, f"accepted:{batch.partition}".encode(), bundle)


class ScoresProcessor(RawProcessor):
    name: ClassVar[str] = "scores"
    source = SCORING
    outputs = (SCORES, ALERTS_ALL)
    state = State("scores", 1)
    batch_within: ClassVar[float | None] = 0.05

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
        self._last_tick: float | None = None
        self.keeper: ScoreKeeper | None = None

    async def start(self, context: Context) -> None:
        await super().start(context)
        self.keeper = ScoreKeeper(
            catalogue=context.catalogue,
            send_alert=self._send_alert,
            alerts=self.alerts,
            timezone=self.timezone,
            city_id=self.city_id,
            grace_seconds=self.grace_seconds,
        )
        metrics.watch_open_windows(self.name, self.keeper.accumulator, windows_of)
        # The alert topics of the departments known now, created off the event loop.
        departments = [d.department_id for d in context.catalogue().catalogue.departments]
        await self._ensure_alert_topics(departments)

    async def process(self, batch: Batch[Record]) -> None:
        assert self.keeper is not None and batch.state is not None
        self.keeper.open(batch.state)
        now = time.monotonic()
        for record, _ in batch.events:
            try:
                presses = unpack(record.key, record.value)
            except BundleError as exc:
                batch.dead_letter(record, str(exc))
                continue
            for key, value in presses:
                try:
                    self.keeper.add(key, value, now, record.offset)
                except Exception as exc:  # one bad press must never stop the stream
                    log.exception("scoring a press failed")
                    press = replace(record, key=key, value=value)
                    batch.dead_letter(press, f"{type(exc).__name__}: {exc}")
        await self.keeper.settle(now, batch, batch.state)
        self._observe_watermark(now)

    async def tick(self, tick: Tick) -> None:
        keeper = self.keeper
        if keeper is None:
            return
        state = tick.state(0)
        keeper.open(state)
        now = time.monotonic()
        last = max(keeper.last_press, self._last_tick if self._last_tick is not None else now)
        quiet = now - keeper.last_press
        backlog = await self._backlog()
        if backlog is not None:
            keeper.observe(self._reading(backlog))
        # Wall time moves event time only while nothing waits upstream (or after max_wait): a
        # busy machine can leave this stage without presses for minutes of a backlog, and a
        # watermark moved by those minutes would close windows the waiting presses still fill
        # (each a correction later). A worker without the group's offsets trusts the quiet.
        if backlog is not None:
            nothing_waits = not any(b.pending for b in backlog.values())
        else:
            nothing_waits = self.context.backlog is None
        waited_enough = quiet >= keeper.accumulator().max_wait
        if quiet >= (self.tick_seconds or 0.0) and (nothing_waits or waited_enough):
            drained = quiet >= self.drain_seconds and backlog is not None and nothing_waits
            keeper.idle(int((now - last) * 1e6), now=now, drained=drained)
        self._last_tick = now
        await keeper.settle(now, tick, state)
        self._observe_watermark(now)

    def _reading(self, backlog: Mapping[tuple[str, int], Backlog]) -> Reading:
        """The census's view of a backlog read (see ``census``)."""
        raw, accepted = self.context.topic(PRESSES_RAW), self.context.topic(PRESSES_ACCEPTED)
        scoring = backlog.get((self.context.topic(SCORING), 0))
        return Reading(
            raw={p: (b.pending, b.end) for (t, p), b in backlog.items() if t == raw},
            accepted={p: b.pending for (t, p), b in backlog.items() if t == accepted},
            scoring_end=0 if scoring is None else scoring.end,
        )

    def _observe_watermark(self, now: float) -> None:
        assert self.keeper is not None
        watermark_us = self.keeper.accumulator().watermark(now)
        if watermark_us is not None:
            metrics.WATERMARK.labels(self.name).set(watermark_us / 1e6)

    def release(self) -> None:
        if self.keeper is not None:
            self.keeper.forget()

    async def _backlog(self) -> Mapping[tuple[str, int], Backlog] | None:
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
        if self.context.ensure_topics is not None:
            await self.context.ensure_topics([alerts_topic(d) for d in departments])

    async def _send_alert(self, out: Out, alert: AlertEvent) -> None:
        await self._ensure_alert_topics([alert.department_id])
        value = alert.model_dump_json().encode()
        key = f"{alert.scope}:{alert.scope_id}".encode()
        # logical names: ``emit`` adds the prefix
        out.emit(alert_topic_name(alert.department_id), key, value)
        out.emit(alert_topic_name(None), key, value)
        log.info(
            "alert %s %s %s score=%.1f n=%d",
            alert.state,
            alert.scope,
            alert.scope_id,
            alert.score,
            alert.n,
        )
