"""Alert delivery: press -> webhook received, against press -> alert topic in the same run.

A paced producer sends the simulator's presses to ``presses.raw`` at ``--rate`` presses/s (a
city's pace; the simulated clock runs faster than the wall clock so 15-min windows close and
the degraded department's alerts fire). The real stream worker raises the alerts; the real
delivery service (``civicpulse alerts deliver``, a subprocess) sends every alert event (one
subscription, ``department = "*"``) to a JSON webhook served by this process, which notes when
each arrives (keyed by its ``Idempotency-Key``, ``<alert_id>:<state>``).

Both latencies start at the *closing press* of the alert's window (benchmarks/e2e_latency.py
explains it), one machine, one clock: press -> alert event on ``alerts.all`` (the baseline: what
the stream alone takes) and press -> webhook received (stream + delivery). Their difference per
alert is the delivery's own time: target p99 < 2 s after the alert event. A city raises few
alerts (one per opening or resolution), so after the city part the run also writes 200 alert
events (``--quick``: 50) straight to ``alerts.all`` at 20/s and times each from its write to
the webhook.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from benchmarks.common import Figure, broker, parser, percentile, report
from benchmarks.e2e_pipeline import Arrivals, alert_latencies, paced_send
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    PRESSES_RAW,
    alert_topic_name,
    topic_name,
)
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue

TARGET_AFTER_ALERT_MS = 2000.0
#: alert events written straight to alerts.all after the city part (--quick: a quarter)
SYNTHETIC = 200
SECRET = "benchmark-webhook-secret-0123456789"


class Webhook:
    """A JSON webhook on loopback: the first arrival (ms) of each Idempotency-Key."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time() * 1000
                receiver.requests += 1
                receiver.seen.setdefault(self.headers["Idempotency-Key"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Latencies:
    """The figures of one run, in ms."""

    #: press -> alert event on alerts.all, from the closing press
    topic: list[float]
    #: press -> webhook received, from the closing press
    webhook: list[float]
    #: the city's alert events: written to alerts.all -> at the webhook
    after: list[float]
    #: SYNTHETIC alert events written at a steady pace: written -> at the webhook
    steady: list[float]
    #: city alert events that never reached the webhook
    missing: int


class AlertWatch:
    """The city's alert events on alerts.all, read in a thread: when each arrived here
    (``seen``, ms), when the stream wrote it (``written``: the record's CreateTime) and its
    value; the synthetic events (department ``bench``) are left out."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.seen: dict[str, float] = {}
        self.written: dict[str, float] = {}
        self.values: dict[str, dict[str, Any]] = {}
        config = {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10}  # fmt: skip
        self.consumer = Consumer(config)
        self.consumer.subscribe([topic])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self.consumer.consume(100, 0.05):
                if message.error() is not None:
                    continue
                now = time.time() * 1000
                value = orjson.loads(message.value())
                key = f"{value['alert_id']}:{value['state']}"
                if value["department_id"] != "bench" and key not in self.seen:
                    self.seen[key], self.values[key] = now, value
                    self.written[key] = float(message.timestamp()[1])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def steady_alerts(bootstrap: str, prefix: str, hook: Webhook, count: int) -> list[float]:
    """``count`` opened alerts written to alerts.all at 20/s (a busy hour of a whole city's
    alerts in seconds): their CreateTime -> webhook arrival, in ms. The city part yields only a
    handful of alerts; these give the delivery's own p99 weight."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    written: dict[str, float] = {}
    now = datetime.now(UTC)
    # n = -1 warms the producer up (its idempotent session is set up on the first send, after
    # the record's CreateTime was stamped): it is delivered but not timed.
    for n in range(-1, count):
        event = AlertEvent(
            alert_id=uuid.uuid4(), state="opened", scope="site", scope_id=f"bench-{n}",
            department_id="bench", mode="threshold", score=20.0, n=6, threshold=50.0,
            window_start=now - timedelta(minutes=15), window_end=now, at=now,
        )  # fmt: skip
        key = f"{event.alert_id}:opened"

        def delivered(error: object, message: Any, key: str = key) -> None:
            if error is None:
                written[key] = float(message.timestamp()[1])

        producer.produce(alert_topic_name(None, prefix), event.model_dump_json().encode(),
                         key=f"site:bench-{n}", on_delivery=delivered)  # fmt: skip
        if n < 0:
            producer.flush(30)
            written.clear()
        producer.poll(0)
        time.sleep(0.05)
    producer.flush(30)
    deadline = time.monotonic() + 30
    while not written.keys() <= hook.seen.keys() and time.monotonic() < deadline:
        time.sleep(0.1)
    return [hook.seen[k] - t for k, t in written.items() if k in hook.seen]


def wait_for_worker(bootstrap: str, prefix: str, timeout: float) -> float:
    """Seconds until the stream worker's group committed every press of presses.raw."""
    topic = topic_name(PRESSES_RAW, prefix)
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{prefix}civicpulse-stream"})
    parts = [TopicPartition(topic, p) for p in range(PRESSES_RAW.partitions)]
    start = time.monotonic()
    try:
        while time.monotonic() - start < timeout:
            ends = [probe.get_watermark_offsets(p, timeout=10)[1] for p in parts]
            done = [max(tp.offset, 0) for tp in probe.committed(parts, timeout=10)]
            if done == ends:
                break
            time.sleep(0.5)
        return time.monotonic() - start
    finally:
        probe.close()


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{text!r} never appeared; see {log}")
        time.sleep(0.2)


def run(
    bootstrap: str,
    prefix: str,
    sim: Simulation,
    records: list[tuple[bytes, bytes, str]],
    rate: float,
    tmp: Path,
    grace: float,
    synthetic: int,
) -> Latencies:
    hook = Webhook()
    subscriptions = tmp / "subscriptions.toml"
    subscriptions.write_text(
        '[[subscription]]\ndepartment = "*"\n'
        f'webhook = "http://127.0.0.1:{hook.port}/alerts"\nsecret = "{SECRET}"\n'
    )
    env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, CIVICPULSE_TOPIC_PREFIX=prefix,
               CIVICPULSE_DATA_DIR=str(tmp / "data"),
               CIVICPULSE_SUBSCRIPTIONS=str(subscriptions))  # fmt: skip
    civicpulse = str(Path(sys.executable).with_name("civicpulse"))
    worker_log, delivery_log = tmp / "worker.log", tmp / "delivery.log"
    with worker_log.open("wb") as w, delivery_log.open("wb") as d:
        worker = subprocess.Popen(
            [civicpulse, "stream", "worker", "--loglevel", "info", "--grace", str(grace)],
            env=env, stdout=w, stderr=subprocess.STDOUT,
        )  # fmt: skip
        delivery = subprocess.Popen(
            [civicpulse, "alerts", "deliver"], env=env, stdout=d, stderr=subprocess.STDOUT
        )
    alerts = AlertWatch(bootstrap, alert_topic_name(None, prefix))
    try:
        _wait_for(worker_log, "[^Worker]: Ready", worker, 120)
        _wait_for(delivery_log, "delivering", delivery, 60)
        time.sleep(2)  # past Faust's first commit and the catalogue read
        began = time.time() * 1000
        sent = paced_send(bootstrap, topic_name(PRESSES_RAW, prefix), records, rate)
        # On a loaded machine the worker trails the pace: its alerts come once it caught up.
        lag = wait_for_worker(bootstrap, prefix, 120)
        print(f"stream worker caught up {lag:.1f}s after the last press", flush=True)
        time.sleep(3)  # the last alerts reach the webhook
        steady = steady_alerts(bootstrap, prefix, hook, synthetic)
    finally:
        alerts.close()
        worker.terminate()
        delivery.terminate()
        worker.wait(60)
        delivery.wait(60)
        hook.close()
        if os.environ.get("BENCH_KEEP_LOGS"):
            for log in (worker_log, delivery_log):
                Path(os.environ["BENCH_KEEP_LOGS"], log.name).write_bytes(log.read_bytes())
    # The first 5 s of presses are left out (the worker's warm-up); e2e_latency.py leaves 15 s,
    # but a quick run's few alerts come early, and both figures here share the same alerts.
    grace_ms, skip = int(grace * 1000), began + 5_000
    topic = alert_latencies(records, sent, cast(Arrivals, alerts), grace_ms, skip)
    missing = sorted(set(alerts.values) - set(hook.seen))
    if missing:
        print(f"{len(missing)} of {len(alerts.values)} alert events not at the webhook by the "
              f"end: {missing[:5]}; see {delivery_log}", flush=True)  # fmt: skip
    # alert_latencies reads only .values and .seen: the same alerts, seen at the webhook.
    delivered = {k: v for k, v in alerts.values.items() if k in hook.seen}
    at_hook = cast(Arrivals, SimpleNamespace(values=delivered, seen=hook.seen))
    webhook = alert_latencies(records, sent, at_hook, grace_ms, skip)
    after = [hook.seen[k] - alerts.written[k] for k in delivered]
    return Latencies(topic, webhook, after, steady, len(missing))


def _line(name: str, samples: list[float]) -> None:
    if not samples:
        print(f"{name}: no samples", flush=True)
        return
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    print(f"{name}: {len(samples)} alerts: p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
          f"max {max(samples):.0f} ms", flush=True)  # fmt: skip


def _p(samples: list[float], q: float) -> float:
    return percentile(samples, q) if samples else float("nan")


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--rate", type=float, default=300.0, help="presses per second")
    arguments.add_argument("--seconds", type=float, default=None, help="default 180 (--quick 36)")
    arguments.add_argument("--grace", type=float, default=120.0, help="the worker's --grace")
    args = arguments.parse_args()
    seconds = args.seconds or (36.0 if args.quick else 180.0)
    synthetic = SYNTHETIC // 4 if args.quick else SYNTHETIC
    hours = seconds / 30  # 2 h of event time a minute: windows close every half second
    sim = Simulation(
        PRESETS["demo"],
        datetime(2026, 3, 2, 8, tzinfo=UTC),  # 9:00 in Warsaw: desks are busy
        timedelta(hours=hours),
        args.rate * seconds / (hours * 3600),
        3,
        degrade_after=timedelta(hours=hours / 4),
    )
    records = [
        (p.key or b"", p.line, str(p.event_id))
        for p in sim.presses()
        if p.event_id and p.label != "malformed"
    ][: int(seconds * args.rate)]
    with broker() as bootstrap, tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        prefix = f"ad{uuid.uuid4().hex[:8]}."
        create_topics(bootstrap, prefix)
        publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), sim.catalogue())
        got = run(bootstrap, prefix, sim, records, args.rate, Path(tmp), args.grace, synthetic)
    print(f"{len(records)} presses at {args.rate:g}/s", flush=True)
    _line("press -> alert event on alerts.all (from the closing press)", got.topic)
    _line("press -> webhook received (from the closing press)", got.webhook)
    _line("city alert event written -> webhook received", got.after)
    _line(f"{synthetic} alert events at 20/s: written -> webhook received", got.steady)
    topic_p99, webhook_p99 = _p(got.topic, 99), _p(got.webhook, 99)
    after = got.after + got.steady
    after_p99 = _p(after, 99)
    report(
        [
            Figure("alert_delivery_press_to_webhook_p50", _p(got.webhook, 50), "ms",
                   "informational", True, baseline=_p(got.topic, 50)),
            Figure("alert_delivery_press_to_webhook_p99", webhook_p99, "ms",
                   f"p99 < alert topic p99 + {TARGET_AFTER_ALERT_MS:.0f} ms",
                   webhook_p99 < topic_p99 + TARGET_AFTER_ALERT_MS, baseline=topic_p99),
            Figure("alert_delivery_after_alert_p50", _p(after, 50), "ms", "informational",
                   True),
            Figure("alert_delivery_after_alert_p99", after_p99, "ms",
                   f"p99 < {TARGET_AFTER_ALERT_MS:.0f} ms after the alert event",
                   len(got.steady) == synthetic and not got.missing
                   and after_p99 < TARGET_AFTER_ALERT_MS),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    main()
