"""The smiley terminal client: press -> durable buffer -> Kafka or the ingest API, in order.

Every press becomes a :class:`PressDraft` (``event_id`` = uuid4 made here, ``pressed_at`` = this
device's clock) and is appended to the SQLite buffer before anything else. A flush takes the
oldest presses, hands them to a :class:`Sender` and deletes exactly those the far side confirmed.
Anything else stays buffered and is retried, oldest first, on the next flush.

``received_at``: on the direct-Kafka path it is the moment this client hands the press to the
producer (the terminal *is* the ingest point there; a re-send after an outage gets a new
``received_at``, so a long outage shows up as delay, which the stream's ``max_delay`` judges).
On the API path the API sets it from the server clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import httpx
from confluent_kafka import Producer

from civicpulse.producers.buffer import BufferStatus, PressBuffer, PressDraft
from civicpulse.producers.kafka_producer import deliver

__all__ = ["ApiSender", "FlushReport", "KafkaSender", "SendOutcome", "Sender", "Terminal"]

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SendOutcome:
    """What the far side said about one batch."""

    delivered: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None


class Sender(Protocol):
    def send(self, drafts: Sequence[PressDraft]) -> SendOutcome: ...


class KafkaSender:
    """Produces straight to ``presses.raw``; a press counts as delivered on the broker's ack."""

    def __init__(
        self, producer: Producer, topic: str, *, timeout: float = 15.0, clock: Clock = _utcnow
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout
        self.clock = clock

    def send(self, drafts: Sequence[PressDraft]) -> SendOutcome:
        received_at = self.clock()
        events = [draft.to_event(received_at) for draft in drafts]
        deliveries = deliver(self.producer, self.topic, events, timeout=self.timeout)
        failed = [d.error for d in deliveries if not d.ok]
        return SendOutcome(
            delivered=[d.event_id for d in deliveries if d.ok],
            error=f"broker did not confirm {len(failed)} press(es): {failed[0]}"
            if failed
            else None,
        )


class ApiSender:
    """Posts batches to ``POST /v1/presses``; a 202 means the broker acknowledged every press."""

    def __init__(
        self,
        base_url: str,
        device_id: str,
        key: str,
        *,
        timeout: float = 15.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/v1/presses"
        self.headers = {"X-Device-Id": device_id, "X-Device-Key": key}
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, drafts: Sequence[PressDraft]) -> SendOutcome:
        body = {"events": [draft.to_wire() for draft in drafts]}
        try:
            response = self.client.post(self.url, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            return SendOutcome(error=f"ingest API unreachable: {exc!r}")
        if response.status_code == 202:
            results = response.json()["results"]
            return SendOutcome(
                delivered=[r["event_id"] for r in results if r["status"] == "accepted"]
            )
        if response.status_code == 422:
            return self._invalid(drafts, response)
        return SendOutcome(
            error=f"ingest API answered {response.status_code}: {response.text[:300]}"
        )

    @staticmethod
    def _invalid(drafts: Sequence[PressDraft], response: httpx.Response) -> SendOutcome:
        # The API refuses a batch with an invalid event whole and names the bad events by index;
        # those can never succeed, the others are retried on the next flush.
        errors = response.json().get("detail", [])
        bad: dict[int, str] = {}
        for error in errors if isinstance(errors, list) else []:
            index = error.get("index") if isinstance(error, dict) else None
            if isinstance(index, int) and 0 <= index < len(drafts):
                bad[index] = bad.get(index, "") + f"{error.get('field')}: {error.get('message')}; "
        if not bad:
            return SendOutcome(error=f"ingest API refused the batch: {response.text[:300]}")
        return SendOutcome(
            invalid=[(str(drafts[i].event_id), msg) for i, msg in bad.items()],
            error="some presses were refused as invalid and quarantined",
        )


@dataclass(frozen=True)
class FlushReport:
    delivered: int
    quarantined: int
    pending: int
    error: str | None


class Terminal:
    """One terminal: records presses durably and delivers them in order.

    Use :meth:`press` from the UI thread; call :meth:`flush` yourself or :meth:`start` a
    background thread that flushes after each press and retries with backoff while offline.
    """

    def __init__(
        self,
        device_id: str,
        buffer: PressBuffer,
        sender: Sender,
        *,
        batch_size: int = 200,
        clock: Clock = _utcnow,
        retry_interval: float = 2.0,
        max_retry_interval: float = 30.0,
    ) -> None:
        self.device_id = device_id
        self.buffer = buffer
        self.sender = sender
        self.batch_size = batch_size
        self.clock = clock
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def press(
        self, button: int, *, reason: str | None = None, lang: str | None = None
    ) -> tuple[PressDraft, BufferStatus]:
        """Record one press durably (raises ``BufferFullError`` when the buffer is full)."""
        draft = PressDraft(
            device_id=self.device_id,
            button=button,
            pressed_at=self.clock(),
            reason=reason,
            lang=lang,
        )
        status = self.buffer.append(draft)
        if status.nearly_full:
            log.warning(
                "offline buffer %d/%d presses full: delivery is failing (%s); new presses will "
                "be refused when it is full",
                status.pending,
                status.capacity,
                self.last_error or "no error yet",
            )
        self._wake.set()
        return draft, status

    def flush(self) -> FlushReport:
        """Send buffered presses, oldest first, until the buffer is empty or a send fails."""
        delivered = quarantined = 0
        error: str | None = None
        with self._flush_lock:
            while batch := self.buffer.peek(self.batch_size):
                outcome = self.sender.send(batch)
                delivered += self.buffer.remove(outcome.delivered)
                if outcome.invalid:
                    self.buffer.quarantine(outcome.invalid)
                    quarantined += len(outcome.invalid)
                    log.error(
                        "quarantined %d invalid press(es): %s",
                        len(outcome.invalid),
                        outcome.invalid,
                    )
                if outcome.error and not outcome.invalid:
                    error = outcome.error
                    break
        self.last_error = error
        return FlushReport(delivered, quarantined, self.buffer.status().pending, error)

    def start(self) -> None:
        """Flush in a background thread: after each press, and with backoff while failing."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="terminal-flush", daemon=True)
            self._thread.start()

    def stop(self, *, final_flush: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if final_flush:
            self.flush()

    def _run(self) -> None:
        delay = self.retry_interval
        while not self._stop.is_set():
            report = self.flush()
            if report.error:
                log.warning("delivery failed, %d press(es) kept: %s", report.pending, report.error)
                self._wake.wait(delay)
                delay = min(delay * 2, self.max_retry_interval)
            else:
                delay = self.retry_interval
                self._wake.wait(self.retry_interval)
            self._wake.clear()
