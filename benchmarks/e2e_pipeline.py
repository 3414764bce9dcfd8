"""The capacity benchmark's moving parts: the broker (with its pid), the pipeline's processes,
the presses of each step, and the consumers that see verdicts and alerts arrive.

Each step sends ``STEP_MINUTES`` of the demo city's event time, one department degrading a
quarter of the way in (so an alert opens in every step): the same simulated city every step,
moved on in event time so that each step continues where the previous one ended (a jump of a
day would close every open window at once: seconds of work no city ever sees), with fresh event
ids (a network retry keeps sharing its press's id) and visitors, so that every step's presses
are new to the anti-spam state. The city's clock runs ``STEP_MINUTES`` times faster than the
wall clock of a 60 s step, so windows close that much more often per press than in a city: the
scores stage's cost per press here is an upper bound.
"""

from __future__ import annotations

import bisect
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation

__all__ = [
    "Arrivals",
    "StepPresses",
    "alert_latencies",
    "catalogue",
    "end_offsets",
    "paced_send",
    "queryable_latencies",
    "spawn",
    "step_presses",
    "wait_for_log",
]

START = datetime(2026, 3, 2, 7, tzinfo=UTC)
#: event time each step covers (degraded from a quarter in: an alert closes within the step)
STEP_MINUTES = 45.0
SEED = 3


@dataclass(frozen=True)
class StepPresses:
    """One step's presses as ``(key, value, event_id)``, and what alert timing needs."""

    records: list[tuple[str, str, str]]
    department: str


def _shift(moment: str, by: timedelta) -> str:
    at = datetime.fromisoformat(moment.replace("Z", "+00:00")) + by
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def step_presses(step: int, rate: float, seconds: float) -> StepPresses:
    """The valid presses of step ``step`` (0, 1, ...) for ``seconds`` at ``rate``."""
    wanted = int(rate * seconds)
    span = timedelta(minutes=STEP_MINUTES)
    # 5 % more than needed: the simulator's count varies around its mean rate
    sim = Simulation(
        PRESETS["demo"], START, span, wanted * 1.05 / span.total_seconds(), SEED,
        degrade_after=span / 4,
    )  # fmt: skip
    by, ids = span * step, dict[str, str]()
    records = []
    for press in sim.presses():
        if not press.event_id or press.label == "malformed":
            continue  # a malformed press has no verdict to wait for
        value = orjson.loads(press.line)
        new_id = ids.setdefault(press.event_id, str(uuid.uuid4()))
        value["event_id"] = new_id
        value["pressed_at"] = _shift(value["pressed_at"], by)
        value["received_at"] = _shift(value["received_at"], by)
        if "visitor" in value:  # a visitor of another step is another visitor
            value["visitor"] = f"{value['visitor']}-{step % 1000:03d}"
        records.append(((press.key or b"").decode(), orjson.dumps(value).decode(), new_id))
        if len(records) == wanted:
            break
    return StepPresses(records, sim.city.degraded_department)


def catalogue() -> tuple[Catalogue, str]:
    """The demo city's catalogue (the same for every step: same seed, same start) and its
    degraded department."""
    span = timedelta(minutes=STEP_MINUTES)
    sim = Simulation(PRESETS["demo"], START, span, 1.0, SEED, degrade_after=span / 4)
    return sim.catalogue(), sim.city.degraded_department


class Arrivals:
    """Consumes output topics in a thread; first arrival time (ms) per key.

    Every output watched here is a JSON object; ``key`` names it (a press's ``event_id`` by
    default; an alert's id and state). ``values`` keeps the first value per key when asked.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        key: Callable[[dict[str, Any]], str] = lambda v: str(v["event_id"]),
        keep_values: bool = False,
    ) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"e2e-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "topic.metadata.refresh.interval.ms": 1000,
            }
        )
        self.consumer.subscribe(topics)
        self.bootstrap, self.key, self.keep_values = bootstrap, key, keep_values
        self.count = 0  # messages read: one output per press, duplicates included
        self.seen: dict[str, float] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self.consumer.consume(500, 0.05):
                if message.error() is None and message.value():
                    self.count += 1
                    now = time.time() * 1000
                    value = orjson.loads(message.value())
                    key = self.key(value)
                    if key not in self.seen:
                        self.seen[key] = now
                        if self.keep_values:
                            self.values[key] = value

    def missing(self, ids: set[str], timeout: float) -> int:
        """Wait until every id was seen or ``timeout`` passed; how many were not seen."""
        deadline = time.monotonic() + timeout
        while not ids <= self.seen.keys() and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(ids - self.seen.keys())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def end_offsets(consumer: Consumer, topic: str, partitions: int) -> int:
    """The sum of the topic's log end offsets (messages ever written to it)."""
    return sum(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
        for p in range(partitions)
    )


def _ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def alert_latencies(
    records: Sequence[tuple[str | bytes, str | bytes, str]],
    sent: dict[str, float],
    alerts: Arrivals,
    grace_ms: int,
    skip_before_ms: float,
) -> list[float]:
    """Each alert's arrival minus the send time of the press that closed its window: the first
    press sent whose ``received_at`` is at or past the window's end + grace (the watermark
    follows the slowest active lane, so the window may close later: the conservative end).
    Alerts closed by a press of another step, or by the drain, are left out."""
    heads: list[int] = []  # event time reached after each press: the running max of received_at
    for _, value, _ in records:
        received = _ms(orjson.loads(value)["received_at"])
        heads.append(max(received, heads[-1]) if heads else received)
    out = []
    for key, alert in alerts.values.items():
        index = bisect.bisect_left(heads, _ms(alert["window_end"]) + grace_ms)
        if index == len(heads) or (index == 0 and heads[0] > _ms(alert["window_end"]) + grace_ms):
            continue
        closing = sent.get(records[index][2])
        if closing is not None and closing >= skip_before_ms:
            out.append(alerts.seen[key] - closing)
    return out


def queryable_latencies(chdb: Path, sent: dict[str, float]) -> list[float]:
    """``ingested_at`` of each stored press minus its CreateTime (this process opens chDB)."""
    from civicpulse.schemas.settings import Settings
    from civicpulse.sink.clickhouse import create_client

    client = create_client(Settings(clickhouse_dsn=f"chdb://{chdb}"))
    rows = client.query(
        "SELECT toString(event_id), toUnixTimestamp64Milli(min(ingested_at)) FROM presses "
        "GROUP BY event_id"
    ).result_rows
    return [float(at) - sent[i] for i, at in rows if i in sent]


def paced_send(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes, bytes, str]],
    rate: float,
    *,
    started: Callable[[], None] = lambda: None,
    stopped: Callable[[], bool] = lambda: False,
    flush_seconds: float = 30.0,
) -> dict[str, float]:
    """Produce at ``rate`` per second (idempotent, ``linger.ms`` 0, as a terminal's API call
    would) until sent or ``stopped()``; returns each event id's CreateTime (ms). ``started`` is
    called as the first press goes out. (The capacity benchmark sends from a process of its own:
    ``benchmarks.e2e_load``.)"""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0}
    )
    sent: dict[str, float] = {}

    def delivered(error: object, message: Message, event_id: str) -> None:
        if error is None:
            sent[event_id] = float(message.timestamp()[1])

    start = time.monotonic()
    started()
    for n, (key, value, event_id) in enumerate(records):
        if stopped():
            break
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        producer.produce(
            topic, key=key, value=value, on_delivery=lambda e, m, i=event_id: delivered(e, m, i)
        )
        producer.poll(0)
    producer.flush(flush_seconds)
    return sent


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start one process of the pipeline, its output to ``log``."""
    with log.open("wb") as handle:
        return subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_for_log(process: subprocess.Popen[bytes], log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{process.args!r} did not start:\n{tail}")
        time.sleep(0.2)
