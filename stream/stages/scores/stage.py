"""The score keeper: accumulator + alert states over one table, settled once per batch or tick.

Thin wiring around the pure parts (``accumulator``, ``alerts``):

* ``add`` counts one message of the scoring topic. Its key is ``<accepted partition>:<offset>:
  <raw partition>:<raw offset>`` (``scoring_key``): the pair of partitions is the press's lane
  (for the watermark), and the lane with the raw offset makes the count idempotent (see
  ``accumulator`` and ``source_of``): re-forwarded by the hop or re-emitted by the anti-spam
  agent after a crash, a press keeps its raw offset.
  The framework's processed-offset skip does not replace this: the anti-spam agent can re-emit
  a press after a crash before its own state commit, a re-delivery of *another* stage that this
  stage's checkpoint cannot see.
* ``settle`` emits and stages: corrections of closed windows and newly closed windows go to
  ``scores``, alert events to ``alerts.<department>`` and ``alerts.all`` (through the batch's or
  tick's emitter), and the changed state records (minute slices, meta, alert states) into the
  partition's transaction. The runner's checkpoint flushes the outputs before it writes the
  records: a crash before the write recomputes and emits again (at-least-once; the scores table
  keeps the latest row and alert ids are deterministic); a crash after it finds every effect in
  the records. Writing the records first would lose the closing events of a crash in between:
  the recovered ``closed`` mark would say they were sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from civicpulse.schemas.events import AlertEvent, JudgedPress, ScoreEvent
from civicpulse.schemas.topics import SCORES
from civicpulse.stream.catalogue.index import CatalogueIndex
from civicpulse.stream.framework.processors import Batch, Tick
from civicpulse.stream.framework.transaction import Transaction
from civicpulse.stream.stages.alerts.state_machine import (
    AlertBook,
    AlertState,
    recognition,
    step_window,
)
from civicpulse.stream.stages.scores.accumulator import ScoreAccumulator, Source
from civicpulse.stream.stages.scores.census import LaneCensus, Reading

__all__ = ["ScoreKeeper", "scoring_key", "source_of"]

log = logging.getLogger("civicpulse.stream")

#: where a settle's outputs go: the batch's or the tick's emitter
Out = Batch[Any] | Tick

_ALERT_PREFIX = "a|"
#: nothing closes this long after the stage (re)starts (see ScoreAccumulator.warmup)
_WARMUP_SECONDS = 10.0


def scoring_key(
    accepted_partition: int, offset: int, raw_partition: int | None, raw_offset: int | None
) -> bytes:
    """The key the hop gives a press on the scoring topic (see module doc)."""
    if raw_partition is None or raw_offset is None:
        return f"{accepted_partition}:{offset}".encode()
    return f"{accepted_partition}:{offset}:{raw_partition}:{raw_offset}".encode()


def source_of(key: bytes | None) -> tuple[Source | None, int | None]:
    """``(source, lane)`` from a scoring key; (None, None) for a key without them.

    The source is the lane and the press's presses.raw offset: the anti-spam agent re-emits a
    press it judges again after a restart (same raw offset, a new presses.accepted offset), and
    within a lane raw offsets only grow, so the raw offset is what tells a copy from a press.
    A judged press written to presses.accepted by anything else (no raw headers) is its own
    lane per accepted partition, with the accepted offset.
    """
    try:
        parts = [int(part) for part in (key or b"").split(b":")]
    except ValueError:
        return None, None
    if len(parts) == 4:
        accepted, _offset, raw, raw_offset = parts
        lane = raw * 1000 + accepted
        return (lane, raw_offset), lane
    if len(parts) == 2:
        accepted, offset = parts
        lane = -1000 + accepted
        return (lane, offset), lane
    return None, None


class ScoreKeeper:
    """The score windows and alert states of the scores processor's one partition: counts
    presses, closes windows, steps alerts and settles what changed (see module doc)."""

    def __init__(
        self,
        *,
        catalogue: Callable[[], CatalogueIndex],
        send_alert: Callable[[Out, AlertEvent], Awaitable[None]],
        alerts: AlertBook,
        timezone: str,
        city_id: str,
        grace_seconds: float,
    ) -> None:
        self._catalogue = catalogue
        self._send_alert = send_alert
        self._alerts = alerts
        self._zone = ZoneInfo(timezone)
        self._city_id = city_id
        self._grace_us = int(grace_seconds * 1e6)
        self._acc: ScoreAccumulator | None = None
        self._states: dict[str, AlertState] = {}
        self._dirty_states: set[str] = set()
        self._pending_alerts: list[AlertEvent] = []
        self.last_press = time.monotonic()
        self.census = LaneCensus()
        #: the next offset to read on the scoring topic
        self.position = 0

    # -- state --------------------------------------------------------------------------------

    def open(self, state: Transaction) -> ScoreAccumulator:
        """The accumulator, rebuilt from the table when the stage (re)gets its partition."""
        if self._acc is None:
            now = time.monotonic()
            acc = ScoreAccumulator(
                self._zone, self._city_id, grace_us=self._grace_us, warmup=_WARMUP_SECONDS
            )
            data = state.items()
            acc.load(((k, v) for k, v in data if not k.startswith(_ALERT_PREFIX)), now)
            self._states = {
                k: AlertState.from_dict(v)
                for k, v in data
                if k.startswith(_ALERT_PREFIX) and v is not None
            }
            self._dirty_states = set()
            self._acc = acc
            self.census = LaneCensus()
            self.position = 0 if state.processed_offset is None else state.processed_offset + 1
        return self._acc

    def accumulator(self) -> ScoreAccumulator:
        """The accumulator ``open`` loaded (the processor opens it before every batch or tick)."""
        if self._acc is None:
            raise RuntimeError("the scores stage was not opened over its state")
        return self._acc

    def forget(self) -> None:
        """The partition went elsewhere: rebuild from the table when it comes back."""
        self._acc = None

    # -- presses ------------------------------------------------------------------------------

    def add(self, key: bytes | None, value: bytes, now: float, offset: int) -> str | None:
        """Count one message (``offset`` on the scoring topic); returns a dead-letter reason for
        a message that is no press."""
        self.position = max(self.position, offset + 1)
        press = JudgedPress.model_validate_json(value)
        source, lane = source_of(key)
        if lane is not None:
            self.census.seen(lane, offset)
        if not self.accumulator().add(press, source, now, lane):
            log.warning("press %s is older than the kept windows: not scored", press.event_id)
        self.last_press = now
        return None

    def idle(self, elapsed_us: int, *, now: float, drained: bool) -> None:
        self.accumulator().idle(elapsed_us, now=now, drained=drained)

    def observe(self, reading: Reading) -> None:
        """A tick's reading of the offsets upstream (``census``)."""
        self.census.observe(reading, self.accumulator().heads)

    # -- settle -------------------------------------------------------------------------------

    async def settle(self, now: float, out: Out, state: Transaction) -> None:
        """Emit what closed or changed, stage the changed records (see module doc)."""
        acc = self.accumulator()
        acc.waiting = frozenset(self.census.waiting(acc.heads, self.position))
        acc.held = self.census.held(acc.raw_partitions(), self.position, now)
        corrections, closed = acc.advance(now)
        for score in corrections:
            self._send_score(out, score)
        for _window, _start, _end, events in closed:
            for score in events:
                self._send_score(out, score)
            for score in events:
                self._step_alert(score)
        alerts, self._pending_alerts = self._pending_alerts, []
        for alert in alerts:
            await self._send_alert(out, alert)
        for name, value in acc.take_dirty():
            state.set(name, value)
        for key in sorted(self._dirty_states):
            state.set(key, self._states[key].to_dict())
        self._dirty_states.clear()

    def _send_score(self, out: Out, score: ScoreEvent) -> None:
        out.emit(
            SCORES,
            f"{score.scope}:{score.scope_id}".encode(),
            score.model_dump_json().encode(),
        )

    def _step_alert(self, score: ScoreEvent) -> None:
        if score.window not in ("15m", "1d") or score.scope not in ("department", "site"):
            return
        department = self._department_of(score)
        if department is None:
            return
        rules = self._alerts.for_department(department)
        if score.window == "1d":
            praise = recognition(score, department_id=department, rules=rules)
            if praise is not None:
                self._pending_alerts.append(praise)
            return
        key = f"{_ALERT_PREFIX}{score.scope}|{score.scope_id}"
        before = self._states.get(key, AlertState())
        stepped = step_window(before, score, department_id=department, rules=rules)
        if stepped is None:
            return
        state, alert = stepped
        if state != before:
            self._states[key] = state
            self._dirty_states.add(key)
        if alert is not None:
            self._pending_alerts.append(alert)

    def _department_of(self, score: ScoreEvent) -> str | None:
        if score.scope == "department":
            return score.scope_id
        for site in self._catalogue().catalogue.sites:
            if site.site_id == score.scope_id:
                return site.department_id
        return None
