"""The delivery service: ``alerts.all`` -> webhooks and e-mail, offsets committed after settle.

One consumer group (``<prefix>civicpulse-delivery``) reads ``alerts.all``. Each event becomes one
delivery per channel of every subscription that wants it (:mod:`.matching`); deliveries run in
*lanes*, one per (subscription, channel, occasion): a lane sends in event order and retries with
back-off, and lanes never wait for each other, so a subscriber that is down delays nobody else.
After the last try a delivery becomes a ``DeadLetter`` on ``deadletter`` (flushed, acked).

Commit order, the checkpoint of this sink: an event is *settled* when every delivery it needs
was delivered or dead-lettered; then the escalation book is saved; then the partition's offset
moves past its settled prefix (:mod:`.progress`) with a synchronous commit. So a restart re-sends
only events that were not settled (with the same ``Idempotency-Key``) and loses none.

``alerts.actions`` (ack / comment / close) is read from its start at every start, before the
first alert: an acknowledged or closed alert is neither escalated nor, when its opening was not
sent yet, sent at all.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from civicpulse.infra import kafka_clients
from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import ALERTS_ACTIONS, DEADLETTER, alert_topic_name, topic_name
from civicpulse.sink.delivery import escalation
from civicpulse.sink.delivery.actions import ActionFollower
from civicpulse.sink.delivery.deadletters import DeadLetters
from civicpulse.sink.delivery.escalation import Due, EscalationBook
from civicpulse.sink.delivery.exceptions import DeliveryError
from civicpulse.sink.delivery.matching import Delivery, deliveries_for, escalates, escalations_for
from civicpulse.sink.delivery.options import ContextSource, DeliveryOptions, DeliveryStats, group_id
from civicpulse.sink.delivery.progress import OffsetTracker
from civicpulse.sink.delivery.render import AlertContext, email_message, webhook_body
from civicpulse.sink.delivery.senders import Attempt, post_webhook, send_mail, webhook_headers
from civicpulse.sink.delivery.subscriptions import SubscriptionLang

__all__ = ["ContextSource", "DeliveryOptions", "DeliveryService", "DeliveryStats", "group_id"]

log = logging.getLogger("civicpulse.delivery")

#: events read and not settled before the service stops reading (memory stays bounded)
MAX_UNSETTLED = 1_000
_COMMIT_EVERY = 0.05
_ESCALATE_EVERY = 1.0


@dataclass
class _Job:
    delivery: Delivery
    event: AlertEvent
    raw: bytes
    source: tuple[int, int] | None = None
    due: Due | None = None


@dataclass
class _Counts:
    """Deliveries still open per event (partition, offset) and per escalation."""

    events: dict[tuple[int, int], int] = field(default_factory=dict)
    escalations: dict[tuple[uuid.UUID, int], int] = field(default_factory=dict)


class DeliveryService:
    """Runs until ``stop`` is set; see the module docstring for the guarantees."""

    def __init__(
        self,
        settings: Settings,
        options: DeliveryOptions,
        context: ContextSource,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.options, self.source = settings, options, context
        self.clock = clock
        prefix = settings.topic_prefix
        self.alerts_topic = alert_topic_name(None, prefix)
        self.actions_topic = topic_name(ALERTS_ACTIONS, prefix)
        self.deadletter_topic = topic_name(DEADLETTER, prefix)
        self.stats = DeliveryStats()
        self.tracker = OffsetTracker()
        self.book: EscalationBook = escalation.load(options.state_file)
        self._by_index = {s.index: s for s in options.subscriptions}
        self._counts = _Counts()
        self._lanes: dict[tuple[int, str, str], asyncio.Queue[_Job]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()
        self._consumer: Any = None
        self._actions: ActionFollower | None = None
        self._letters: DeadLetters | None = None
        self._http: httpx.AsyncClient | None = None
        self._last_commit = 0.0
        self._last_escalation = 0.0
        self._failure: Exception | None = None
        #: set once the group assigned this service its partitions (tests, benchmark)
        self.assigned = threading.Event()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> DeliveryStats:
        settings = self.settings
        self._letters = DeadLetters(settings, self.deadletter_topic, self.alerts_topic)
        self._actions = ActionFollower(settings, self.actions_topic, self.book)
        self._actions.start()
        self._consumer = kafka_clients.consumer(
            settings,
            group_id(settings.topic_prefix),
            "delivery",
            overrides={"on_commit": self._committed},
        )
        self._consumer.subscribe(
            [self.alerts_topic],
            on_assign=lambda _consumer, _parts: self.assigned.set(),
            on_revoke=self._revoked,
        )
        log.info(
            "delivering %s to %d subscription(s) as group %s",
            self.alerts_topic,
            len(self.options.subscriptions),
            group_id(settings.topic_prefix),
        )
        async with httpx.AsyncClient(timeout=settings.delivery_timeout) as http:
            self._http = http
            try:
                while not stop.is_set():
                    if self._failure is not None:
                        raise DeliveryError(f"a delivery lane failed: {self._failure!r}")
                    busy = self._poll()
                    self._actions.follow()
                    self._escalate()
                    self._commit()
                    if not busy:
                        await asyncio.sleep(0.02)
            finally:
                await self._drain()
        return self.stats

    def _poll(self) -> bool:
        if self.tracker.unsettled() >= MAX_UNSETTLED:
            return False
        messages = self._consumer.consume(200, 0)
        for message in messages:
            if message.error() is not None:
                log.warning("alerts.all: %s", message.error())
                continue
            kind, created_ms = message.timestamp()
            written = None if kind == 0 else datetime.fromtimestamp(created_ms / 1000, UTC)
            self._accept(message.partition(), message.offset(), message.value(), written)
        return bool(messages)

    def _accept(
        self, partition: int, offset: int, raw: bytes, written: datetime | None = None
    ) -> None:
        self.tracker.read(partition, offset)
        source = (partition, offset)
        try:
            event = AlertEvent.model_validate_json(raw)
        except ValidationError as exc:
            self._counts.events[source] = 1
            letter = self._dead_letter_raw(raw, source, str(exc).splitlines()[0])
            self._tasks.append(asyncio.create_task(letter))
            return
        self.stats.events += 1
        # Age by when the stream wrote the event (the record's timestamp), not by the event's
        # own time: a replayed or simulated city's alerts carry event times of their past.
        if written is not None and self.clock() - written > self.options.max_age:
            log.info("alert %s written %s is older than %s: not sent", event.alert_id, written,
                     self.options.max_age)  # fmt: skip
            self.stats.skipped += 1
            self.tracker.settle(*source)
            return
        if event.state == "opened":
            self.book.opened(event, self.options.subscriptions)
        else:
            self.book.resolved(event.alert_id)
        deliveries = deliveries_for(event, self.options.subscriptions)
        if not deliveries:
            self.tracker.settle(*source)
            return
        self._counts.events[source] = len(deliveries)
        for delivery in deliveries:
            self._enqueue(_Job(delivery, event, raw, source=source))

    def _enqueue(self, job: _Job) -> None:
        lane = job.delivery.lane
        queue = self._lanes.get(lane)
        if queue is None:
            queue = self._lanes[lane] = asyncio.Queue()
            self._tasks.append(asyncio.create_task(self._run_lane(queue), name=str(lane)))
        queue.put_nowait(job)

    async def _run_lane(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._deliver(job)
            except Exception as exc:
                # A bug, not a failed try: a lane that died would hold its events unsettled
                # forever. The service stops (nothing past the event is committed) and its
                # supervisor restarts it, as an agent that raises ends the stream worker.
                log.exception("%s: delivering %s raised", _who(job), job.delivery.key)
                self._failure = exc
                return
            self._finish(job)
            queue.task_done()

    # -- one delivery -------------------------------------------------------------------------

    async def _deliver(self, job: _Job) -> None:
        policy = self.options.policy
        for attempt in range(1, policy.attempts + 1):
            if self._acknowledged(job):
                self.stats.skipped += 1
                log.info("%s: alert %s was acknowledged or closed: not sent", _who(job),
                         job.event.alert_id)  # fmt: skip
                return
            started = time.monotonic()
            result = await self._attempt(job, attempt)
            if result.delivered:
                self.stats.delivered += 1
                log.info("%s: delivered %s in %.2fs (try %d)", _who(job), job.delivery.key,
                         time.monotonic() - started, attempt)  # fmt: skip
                return
            if result.permanent or attempt == policy.attempts:
                await self._dead_letter(job, result, attempt)
                return
            delay = policy.delay(attempt, self._rng)
            log.warning("%s: try %d of %d failed (%s); next in %.1fs", _who(job), attempt,
                        policy.attempts, result.reason, delay)  # fmt: skip
            await asyncio.sleep(delay)

    def _acknowledged(self, job: _Job) -> bool:
        # The opening of an alert someone already acknowledged (or closed) is not sent, nor is
        # its escalation; a resolution is always sent.
        return job.event.state == "opened" and self.book.is_ended(job.event.alert_id)

    async def _attempt(self, job: _Job, attempt: int) -> Attempt:
        delivery, event = job.delivery, job.event
        # In a thread: finding the worst site may wait for the scores topic's last records.
        context = await asyncio.to_thread(self._context, event, delivery.subscription.lang)
        if delivery.channel == "webhook":
            assert self._http is not None
            body = webhook_body(delivery, event, context)
            headers = webhook_headers(delivery, body, attempt)
            return await post_webhook(self._http, delivery.targets[0], body, headers)
        smtp = self.options.smtp
        if smtp is None:
            return Attempt(False, "no SMTP server configured (CIVICPULSE_SMTP_HOST)", True)
        mail = email_message(delivery, event, context, sender=smtp.sender, now=self.clock())
        return await asyncio.to_thread(send_mail, smtp, mail)

    def _context(self, event: AlertEvent, lang: SubscriptionLang) -> AlertContext:
        try:
            return self.source.context(event, lang)
        except Exception as exc:  # names are a courtesy: never a reason not to deliver
            log.warning("alert %s sent without catalogue names: %s", event.alert_id, exc)
            from civicpulse.sink.delivery.context import department_url

            return AlertContext(
                event.department_id,
                event.scope_id,
                department_url(self.settings.public_url, event.department_id, lang),
                self.settings.city_timezone,
            )

    async def _dead_letter(self, job: _Job, result: Attempt, attempts: int) -> None:
        tries = "try" if attempts == 1 else "tries"
        reason = (
            f"delivery of {job.delivery.key} to {job.delivery.subscription.label} by "
            f"{job.delivery.channel} failed after {attempts} {tries}: {result.reason}"
        )
        await self._produce_letter(job.raw, job.source, reason)
        log.error("%s: dead-lettered: %s", _who(job), reason)

    async def _dead_letter_raw(self, raw: bytes, source: tuple[int, int], error: str) -> None:
        await self._produce_letter(raw, source, f"not an alert event: {error}")
        self._settle_event(source)

    async def _produce_letter(self, raw: bytes, source: tuple[int, int] | None, why: str) -> None:
        assert self._letters is not None
        await self._letters.send(raw, source, why)
        self.stats.dead_lettered += 1

    def _finish(self, job: _Job) -> None:
        if job.source is not None:
            self._settle_event(job.source)
        if job.due is not None:
            key = (job.due.event.alert_id, job.due.subscription)
            self._counts.escalations[key] -= 1
            if self._counts.escalations[key] == 0:
                del self._counts.escalations[key]
                self.book.done(job.due, self.clock())

    def _settle_event(self, source: tuple[int, int]) -> None:
        self._counts.events[source] -= 1
        if self._counts.events[source] == 0:
            del self._counts.events[source]
            self.tracker.settle(*source)

    # -- escalation ------------------------------------------------------------------------

    def _escalate(self) -> None:
        if time.monotonic() - self._last_escalation < _ESCALATE_EVERY:
            return
        self._last_escalation = time.monotonic()
        now = self.clock()
        for due in self.book.take_due(now):
            sub = self._by_index.get(due.subscription)
            deliveries = [] if sub is None else escalations_for(due.event, sub)
            if sub is None or not deliveries or not escalates(sub, due.event):
                self.book.done(due, now)  # the subscription changed since: nothing to send
                continue
            self.stats.escalations += 1
            log.warning(
                "alert %s not acknowledged within %s: escalating (%s)",
                due.event.alert_id, sub.escalate_after, sub.label,
            )  # fmt: skip
            raw = due.event.model_dump_json().encode()
            self._counts.escalations[(due.event.alert_id, due.subscription)] = len(deliveries)
            for delivery in deliveries:
                self._enqueue(_Job(delivery, due.event, raw, due=due))
        self.book.prune(now)

    # -- checkpoint ---------------------------------------------------------------------------

    def _commit(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_commit < _COMMIT_EVERY:
            return
        self._last_commit = time.monotonic()
        escalation.save(self.book, self.options.state_file)
        offsets = self.tracker.to_commit()
        if not offsets:
            return
        from confluent_kafka import KafkaException, TopicPartition

        parts = [TopicPartition(self.alerts_topic, p, o) for p, o in offsets.items()]
        try:
            # Asynchronous while running: the loop keeps delivering meanwhile. A commit that
            # fails is retried (``_committed``); a crash before it lands re-sends, never loses.
            self._consumer.commit(offsets=parts, asynchronous=not force)
        except KafkaException as exc:
            log.warning("commit failed (%s); retried with the next one", exc)
            return
        self.tracker.committed(offsets)

    def _committed(self, error: Any, partitions: list[Any]) -> None:
        failed = [p.partition for p in partitions if error is not None or p.error is not None]
        if failed:
            log.warning("commit of partitions %s failed (%s); trying again", failed, error)
            self.tracker.uncommitted(failed)

    def _revoked(self, consumer: Any, partitions: list[Any]) -> None:
        self._commit(force=True)
        for part in partitions:
            self.tracker.forget(part.partition)

    async def _drain(self) -> None:
        """Give deliveries in flight ``stop_grace`` seconds, commit what settled, close."""
        grace = 0.0 if self._failure is not None else self.options.stop_grace
        deadline = time.monotonic() + grace
        while self._counts.events and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            self._commit(force=True)
        finally:
            self._consumer.close()
            if self._actions is not None:
                self._actions.close()
            if self._letters is not None:
                self._letters.close()
        log.info("stopped: %s", self.stats)


def _who(job: _Job) -> str:
    where = job.delivery.channel if job.delivery.occasion == "alert" else "escalation"
    return f"{job.delivery.subscription.label} [{where}]"
