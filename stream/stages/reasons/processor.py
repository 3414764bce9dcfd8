"""Follow-up reasons per department and hour: the worked example of the processor API.

A press may carry a follow-up ``reason`` (the answer code a terminal asks after an unhappy
press). This processor counts the reasons of counted presses (presses.accepted) per department
and hour of ``pressed_at`` (UTC) and emits the running count to the ``reasons`` topic, which the
sink stores in the ``reasons`` table for the "Follow-up reasons" panel. ``docs/processors.md``
walks through it.

What it declares, and why:

* ``source = PRESSES_ACCEPTED``, ``event_type = JudgedPress``: the runner validates each record
  (an invalid one is dead-lettered) and hands over typed presses, one partition at a time, in
  offset order.
* ``state = State("reasons", 6)``: co-partitioned with presses.accepted; ``batch.state`` is the
  transaction of the batch's partition. One record per (department, hour, reason) holding its
  count: no record grows with traffic. Records older than ``keep_hours`` behind the newest hour
  seen are deleted.
* Counts are per source partition (a department's devices spread over partitions); the table
  keeps the latest ``n`` per key and a query sums the partitions.
* Nothing here deals with re-delivery: the runner's checkpoint writes the state (with the
  processed offset) only after the counts were acknowledged by the broker, and never hands a
  record at or below that offset to ``process`` again; a crash before the state write re-counts
  from the previous state and re-emits the same counts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import ClassVar

from civicpulse.schemas.events import JudgedPress, ReasonCount
from civicpulse.schemas.topics import PRESSES_ACCEPTED, REASONS
from civicpulse.stream.framework.processors import Batch, State, TypedProcessor

__all__ = ["ReasonsProcessor"]

log = logging.getLogger("civicpulse.stream.stages.reasons.processor")

_HOUR_S = 3600


class ReasonsProcessor(TypedProcessor[JudgedPress]):
    """Counts follow-up reasons per department and hour (see module doc)."""

    name: ClassVar[str] = "reasons"
    source = PRESSES_ACCEPTED
    outputs = (REASONS,)
    state = State("reasons", PRESSES_ACCEPTED.partitions)
    event_type = JudgedPress

    def __init__(self, *, keep_hours: int = 8 * 24) -> None:
        self.keep_hours = keep_hours
        #: partition -> newest hour seen (epoch hours); not stored: rebuilt as presses arrive
        self._newest: dict[int, int] = {}

    async def process(self, batch: Batch[JudgedPress]) -> None:
        assert batch.state is not None
        touched: dict[str, tuple[str, int, str, int]] = {}
        for _record, press in batch.events:
            if press.reason is None or press.department_id is None:
                continue
            hour = int(press.pressed_at.timestamp()) // _HOUR_S
            newest = max(self._newest.get(batch.partition, hour), hour)
            if hour < newest - self.keep_hours:
                log.warning("press %s is older than the kept hours: not counted", press.event_id)
                continue
            key = f"{press.department_id}|{hour}|{press.reason}"
            current = batch.state.get(key)
            n = 1 if current is None else current["n"] + 1
            batch.state.set(key, {"n": n})
            touched[key] = (press.department_id, hour, press.reason, n)
            if newest > self._newest.get(batch.partition, newest - 1):
                self._newest[batch.partition] = newest
                self._prune(batch, newest)
        for department, hour, reason, n in touched.values():
            count = ReasonCount(
                department_id=department,
                hour_start=datetime.fromtimestamp(hour * _HOUR_S, UTC),
                reason=reason,
                partition=batch.partition,
                n=n,
            )
            batch.emit(REASONS, department.encode(), count.model_dump_json().encode())

    def _prune(self, batch: Batch[JudgedPress], newest: int) -> None:
        assert batch.state is not None
        oldest = newest - self.keep_hours
        for key in batch.state.keys():  # noqa: SIM118 (a Transaction, not a dict)
            if int(key.split("|", 2)[1]) < oldest:
                batch.state.delete(key)

    def release(self) -> None:
        self._newest.clear()
