"""Presses into a broker that dies: the simulator's stream, and terminals through an outage.

``PressFeeder`` sends the simulator's presses (and the run's poison) to ``presses.raw`` at a
paced rate in a thread, the way the ingest API or a terminal fleet does: idempotent,
``acks=all``, and nothing is dropped: a press whose delivery fails (the broker was killed, the
idempotent producer was fenced) is sent again until the broker acknowledges it. A re-send may
duplicate a press on ``presses.raw``; downstream ``event_id`` makes it one row.

``buffered_terminals`` runs real ``Terminal`` clients (SQLite buffer, ``KafkaSender``) pressing
while the broker is down, the way a desk keeps working through an outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Producer

from civicpulse.producers.buffer import PressBuffer
from civicpulse.producers.kafka_producer import create_producer
from civicpulse.producers.terminal import KafkaSender, Terminal
from civicpulse.schemas.settings import Settings

__all__ = ["PressFeeder", "TerminalOutage", "buffered_terminals"]

Record = tuple[bytes, bytes]


def _producer(bootstrap: str, fatal: threading.Event) -> Producer:
    def on_error(error: KafkaError) -> None:
        if error.fatal():
            fatal.set()

    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 600_000,
            "reconnect.backoff.max.ms": 1_000,
            "error_cb": on_error,
        }
    )


@dataclass
class PressFeeder:
    """Sends ``records`` to ``topic`` at ``rate`` per second in a thread; re-sends failures."""

    bootstrap: str
    topic: str
    records: list[Record]
    rate: float
    acked: set[int] = field(default_factory=set)
    resent: int = 0
    producers: int = 0
    error: BaseException | None = None
    _retry: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._guarded, name="press-feeder", daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> None:
        """Block until every record was acknowledged (raises after ``timeout`` s)."""
        if not self._done.wait(timeout):
            missing = len(self.records) - len(self.acked)
            raise AssertionError(f"{missing} presses still unacknowledged after {timeout:.0f}s")
        if self.error is not None:
            raise AssertionError(f"the feeder failed: {self.error!r}")

    @property
    def sent(self) -> int:
        return len(self.acked)

    def _callback(self, index: int) -> Callable[[Any, Any], None]:
        def on_delivery(error: Any, _message: Any) -> None:
            with self._lock:
                if error is None:
                    self.acked.add(index)
                elif index not in self.acked:
                    self._retry.append(index)

        return on_delivery

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by wait()
            self.error = exc
        finally:
            self._done.set()

    def _run(self) -> None:
        fatal = threading.Event()
        producer, self.producers = _producer(self.bootstrap, fatal), 1
        begin = time.monotonic()
        for index, (key, value) in enumerate(self.records):
            ahead = begin + index / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            producer = self._resend(producer, fatal)
            producer.produce(self.topic, key=key, value=value, on_delivery=self._callback(index))
            producer.poll(0)
        while len(self.acked) < len(self.records):
            producer = self._resend(producer, fatal)
            producer.flush(1.0)

    def _resend(self, producer: Producer, fatal: threading.Event) -> Producer:
        if fatal.is_set():  # a fenced idempotent producer cannot go on: start a new one
            producer.purge()
            producer.flush(5)
            fatal.clear()
            producer, self.producers = _producer(self.bootstrap, fatal), self.producers + 1
        with self._lock:
            again, self._retry = sorted(set(self._retry) - self.acked), []
        for index in again:
            key, value = self.records[index]
            producer.produce(self.topic, key=key, value=value, on_delivery=self._callback(index))
            self.resent += 1
        return producer


@dataclass
class TerminalOutage:
    """What the terminals pressed around the outage, and how long delivery took after it."""

    event_ids: list[str]
    pressed_while_down: int
    delivered_after: float


def buffered_terminals(
    settings: Settings,
    devices: list[str],
    folder: Path,
    clock: Callable[[], datetime],
    outage: Callable[[], None],
    *,
    interval: float = 0.5,
) -> TerminalOutage:
    """Terminals press every ``interval`` s while ``outage()`` runs (it stops and restarts the
    broker); returns once every buffered press was acknowledged."""
    producer = create_producer(settings, client_id="fault-terminals", delivery_timeout_ms=4000)
    topic = f"{settings.topic_prefix}presses.raw"
    terminals = [
        Terminal(
            device,
            PressBuffer(folder / f"{device}.sqlite3"),
            KafkaSender(producer, topic, timeout=8.0, clock=clock),
            clock=clock,
            retry_interval=1.0,
            max_retry_interval=4.0,
        )
        for device in devices
    ]
    ids: list[str] = []
    stop = threading.Event()
    down = threading.Event()
    counts = {"down": 0}

    def press_loop() -> None:
        n = 0
        while not stop.is_set():
            for terminal in terminals:
                draft, _ = terminal.press(1 + (n + len(ids)) % 4)
                ids.append(str(draft.event_id))
                counts["down"] += down.is_set()
            n += 1
            stop.wait(interval)

    for terminal in terminals:
        terminal.start()
    presser = threading.Thread(target=press_loop, daemon=True)
    presser.start()
    try:
        time.sleep(2)
        down.set()
        outage()
        down.clear()
        back = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        presser.join(10)
    deadline = back + 180
    while any(t.buffer.status().pending for t in terminals):
        if time.monotonic() > deadline:
            pending = sum(t.buffer.status().pending for t in terminals)
            raise AssertionError(f"{pending} buffered presses not delivered 180 s after the outage")
        time.sleep(0.5)
    delivered_after = time.monotonic() - back
    for terminal in terminals:
        terminal.stop()
        terminal.buffer.close()
    producer.flush(10)
    return TerminalOutage(ids, counts["down"], delivered_after)
