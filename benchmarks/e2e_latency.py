"""Press-to-verdict latency at a city's pace: a terminal's send to a consumer seeing the verdict.

A paced producer sends the simulator's presses to ``presses.raw`` at ``--rate`` presses/s (a
busy city at peak is tens per second); the real stream worker (``civicpulse stream worker``,
anti-spam and scores) judges them; a consumer of ``presses.accepted`` and ``presses.rejected``
notes when each press's verdict arrives. Latency = arrival at that consumer - the press's
CreateTime on ``presses.raw`` (one machine, one clock), which is what a live dashboard or an
alert subscriber waits. Baseline in the same run, the same presses at the same pace through a
raw confluent-kafka consume -> produce hop that flushes every poll (the floor of any Kafka
stage). Target: p99 under 1 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer

from benchmarks.common import Figure, broker, parser, percentile, report
from civicpulse.infra.topics import create_topics, ensure_topics
from civicpulse.producers.city import PRESETS
from civicpulse.producers.simulator import Simulation
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    TopicSpec,
    topic_name,
)
from civicpulse.stream.catalogue import publish_catalogue

TARGET_P99_MS = 1000.0


class Arrivals:
    """Consumes output topics in a thread; first arrival time (ms) per event id.

    Every output watched here (a JudgedPress, or a raw press copied by the hop) is a JSON object
    with the press's ``event_id``.
    """

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"e2e-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        self.consumer.subscribe(topics)
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self.consumer.consume(500, 0.05):
                if message.error() is None and message.value():
                    now = time.time() * 1000
                    self.seen.setdefault(str(orjson.loads(message.value())["event_id"]), now)

    def wait_for(self, ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ids <= self.seen.keys():
            if time.monotonic() > deadline:
                missing = len(ids - self.seen.keys())
                raise RuntimeError(f"{missing} of {len(ids)} presses had no output in time")
            time.sleep(0.1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def paced_send(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes, str]], rate: float
) -> dict[str, float]:
    """Produce at ``rate`` per second; returns each event id's CreateTime (ms)."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0}
    )
    sent: dict[str, float] = {}

    def delivered(error: object, message: object, event_id: str) -> None:
        if error is None:
            sent[event_id] = float(message.timestamp()[1])  # type: ignore[attr-defined]

    start = time.monotonic()
    for n, (key, value, event_id) in enumerate(records):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        producer.produce(
            topic, key=key, value=value, on_delivery=lambda e, m, i=event_id: delivered(e, m, i)
        )
        producer.poll(0)
    producer.flush(30)
    return sent


def latencies(sent: dict[str, float], seen: dict[str, float]) -> list[float]:
    return [seen[i] - t for i, t in sent.items() if i in seen]


def worker_run(
    bootstrap: str, prefix: str, records: list[tuple[bytes, bytes, str]], rate: float, tmp: Path
) -> list[float]:
    env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, CIVICPULSE_TOPIC_PREFIX=prefix)
    env["CIVICPULSE_DATA_DIR"] = str(tmp / "worker")
    log = tmp / "worker.log"
    command = [str(Path(sys.executable).with_name("civicpulse")), "stream", "worker"]
    with log.open("wb") as handle:
        worker = subprocess.Popen(
            [*command, "--loglevel", "info"], env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    outs = [topic_name(PRESSES_ACCEPTED, prefix), topic_name(PRESSES_REJECTED, prefix)]
    arrivals = Arrivals(bootstrap, outs)
    try:
        deadline = time.monotonic() + 120
        while "[^Worker]: Ready" not in log.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {log}")
            time.sleep(0.2)
        time.sleep(2)  # past Faust's first commit and the catalogue read
        sent = paced_send(bootstrap, topic_name(PRESSES_RAW, prefix), records, rate)
        arrivals.wait_for(set(sent), 60)
        return latencies(sent, arrivals.seen)
    finally:
        arrivals.close()
        worker.terminate()
        worker.wait(30)


def passthrough_run(
    bootstrap: str, prefix: str, records: list[tuple[bytes, bytes, str]], rate: float
) -> list[float]:
    specs = [TopicSpec(name, 6, "device_id", "bytes", "bench") for name in ("hop.in", "hop.out")]
    ensure_topics(bootstrap, specs, prefix)
    source, sink = prefix + "hop.in", prefix + "hop.out"
    stop = threading.Event()

    def hop() -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"{prefix}hop",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        consumer.subscribe([source])
        while not stop.is_set():
            batch = consumer.consume(500, 0.05)
            for message in batch:
                if message.error() is None:
                    producer.produce(sink, key=message.key(), value=message.value())
            if batch:
                producer.flush()
                consumer.commit(asynchronous=True)
        consumer.close()

    thread = threading.Thread(target=hop, daemon=True)
    thread.start()
    arrivals = Arrivals(bootstrap, [sink])
    try:
        time.sleep(5)  # the hop's group joins
        sent = paced_send(bootstrap, source, records, rate)
        arrivals.wait_for(set(sent), 60)
        return latencies(sent, arrivals.seen)
    finally:
        stop.set()
        thread.join(30)
        arrivals.close()


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--rate", type=float, default=100.0, help="presses per second")
    args = arguments.parse_args()
    seconds = 20 if args.quick else 120
    sim = Simulation(
        PRESETS["demo"], datetime(2026, 3, 2, 9, tzinfo=UTC), timedelta(hours=1), args.rate, 3
    )
    # Valid presses only: a malformed one has no verdict to wait for.
    records = [
        (p.key or b"", p.line, str(p.event_id))
        for p in sim.presses()
        if p.event_id and p.label != "malformed"
    ][: int(seconds * args.rate)]
    with broker() as bootstrap, tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        prefix = f"e2e{uuid.uuid4().hex[:8]}."
        create_topics(bootstrap, prefix)
        publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), sim.catalogue())
        stream = worker_run(bootstrap, prefix, records, args.rate, Path(tmp))
        hop = passthrough_run(bootstrap, prefix, records, args.rate)
    for name, samples in (("stream worker", stream), ("raw hop", hop)):
        p50, p95, p99 = (percentile(samples, q) for q in (50, 95, 99))
        print(
            f"{name}: {len(samples)} presses at {args.rate:g}/s: "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {max(samples):.0f} ms",
            flush=True,
        )
    p99, hop_p99 = percentile(stream, 99), percentile(hop, 99)
    report(
        [
            Figure(
                "e2e_press_to_verdict_p99",
                p99,
                "ms",
                f"p99 < {TARGET_P99_MS:.0f} ms at {args.rate:g} presses/s",
                p99 < TARGET_P99_MS,
                baseline=hop_p99,
            )
        ]
    )


if __name__ == "__main__":
    main()
