"""End to end at a large city's peak: press -> verdict, -> queryable, -> alert, against a raw hop.

A paced producer sends the simulator's presses to ``presses.raw`` at ``--rate`` presses/s
(default 2,000: a large city's peak); the real stream worker (``civicpulse stream worker``,
anti-spam, scores, alerts) and the real sink (``civicpulse sink`` into chDB) run meanwhile.
Every latency starts at the press's CreateTime on ``presses.raw`` (one machine, one clock):

* press -> verdict: a consumer of ``presses.accepted``/``presses.rejected`` sees the press.
* press -> queryable: the row's ``ingested_at`` in ClickHouse (``DEFAULT now64(3)``, set by the
  insert that makes the row visible; the insert of a batch takes a few ms more).
* press -> alert: an alert can only fire when its 15-min window closes, i.e. when event time
  (``received_at``) passes ``window_end + grace``. The latency of an alert event on
  ``alerts.<department>`` is measured from the *closing press*: the first press sent whose
  ``received_at`` is at or past the alert's ``window_end + grace``. (The watermark follows the
  slowest active lane, so the window may close on a later press: this is the conservative end.)

The simulated city runs faster than the wall clock (``--sim-hours`` of event time in the run),
so that 15-min windows close, and one department degrades so that alerts fire. Alerts whose
closing press came in the stage's first 15 s (its warm-up) are left out. Baseline in the same
run: the same presses at the same pace through a raw confluent-kafka consume -> produce hop
that flushes every poll (the floor of any Kafka stage). Targets: press -> alert p99 < 1 s,
press -> queryable p99 < 2 s (press -> verdict p99 < 1 s).
"""

from __future__ import annotations

import bisect
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer

from benchmarks.common import Figure, broker, parser, percentile, report
from civicpulse.infra.topics import create_topics, ensure_topics
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    TopicSpec,
    alert_topic_name,
    topic_name,
)
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue

TARGET_P99_MS = 1000.0
QUERYABLE_P99_MS = 2000.0


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
        self.key, self.keep_values = key, keep_values
        self.seen: dict[str, float] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self.consumer.consume(500, 0.05):
                if message.error() is None and message.value():
                    now = time.time() * 1000
                    value = orjson.loads(message.value())
                    key = self.key(value)
                    if key not in self.seen:
                        self.seen[key] = now
                        if self.keep_values:
                            self.values[key] = value

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


@dataclass
class PipelineRun:
    """The three latency families of one run with the worker and the sink."""

    verdict: list[float]
    queryable: list[float]
    alert: list[float]
    alerts_seen: int


def _ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def alert_latencies(
    records: list[tuple[bytes, bytes, str]],
    sent: dict[str, float],
    alerts: Arrivals,
    grace_ms: int,
    skip_before_ms: float,
) -> list[float]:
    """Each alert's arrival minus the send time of the press that closed its window."""
    heads: list[int] = []  # event time reached after each press: the running max of received_at
    for _, value, _ in records:
        received = _ms(orjson.loads(value)["received_at"])
        heads.append(max(received, heads[-1]) if heads else received)
    out = []
    for key, alert in alerts.values.items():
        index = bisect.bisect_left(heads, _ms(alert["window_end"]) + grace_ms)
        if index == len(heads):
            continue  # closed by the end-of-run drain, not by a press
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


def worker_run(
    bootstrap: str,
    prefix: str,
    records: list[tuple[bytes, bytes, str]],
    rate: float,
    tmp: Path,
    department: str,
    grace: float,
) -> PipelineRun:
    env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, CIVICPULSE_TOPIC_PREFIX=prefix)
    env["CIVICPULSE_DATA_DIR"] = str(tmp / "worker")
    env["CIVICPULSE_CLICKHOUSE_DSN"] = f"chdb://{tmp / 'chdb'}"
    log = tmp / "worker.log"
    civicpulse = str(Path(sys.executable).with_name("civicpulse"))
    with log.open("wb") as handle, (tmp / "sink.log").open("wb") as sink_log:
        worker = subprocess.Popen(
            [civicpulse, "stream", "worker", "--loglevel", "info", "--grace", str(grace)],
            env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
        sink = subprocess.Popen(
            [civicpulse, "sink"], env=env, stdout=sink_log, stderr=subprocess.STDOUT
        )
    outs = [topic_name(PRESSES_ACCEPTED, prefix), topic_name(PRESSES_REJECTED, prefix)]
    arrivals = Arrivals(bootstrap, outs)
    alerts = Arrivals(
        bootstrap,
        [alert_topic_name(department, prefix)],
        key=lambda v: f"{v['alert_id']}:{v['state']}",
        keep_values=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "[^Worker]: Ready" not in log.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {log}")
            time.sleep(0.2)
        time.sleep(2)  # past Faust's first commit and the catalogue read
        began = time.time() * 1000
        sent = paced_send(bootstrap, topic_name(PRESSES_RAW, prefix), records, rate)
        arrivals.wait_for(set(sent), 120)
        time.sleep(5)  # the last batches reach the sink and ClickHouse
        verdict = latencies(sent, arrivals.seen)
        alert = alert_latencies(records, sent, alerts, int(grace * 1000), began + 15_000)
    finally:
        arrivals.close()
        alerts.close()
        worker.terminate()
        sink.terminate()  # SIGTERM: the sink flushes, commits and closes chDB
        worker.wait(60)
        sink.wait(120)
    return PipelineRun(verdict, queryable_latencies(tmp / "chdb", sent), alert, len(alerts.seen))


def passthrough_run(
    bootstrap: str, prefix: str, records: list[tuple[bytes, bytes, str]], rate: float
) -> list[float]:
    specs = [TopicSpec(name, 6, "device_id", None, "bench") for name in ("hop.in", "hop.out")]
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


def _line(name: str, samples: list[float], rate: float) -> None:
    if not samples:
        print(f"{name}: no samples", flush=True)
        return
    p50, p95, p99 = (percentile(samples, q) for q in (50, 95, 99))
    print(
        f"{name}: {len(samples)} at {rate:g} presses/s: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"p99 {p99:.0f} ms, max {max(samples):.0f} ms",
        flush=True,
    )


def _p99(samples: list[float]) -> float:
    return percentile(samples, 99) if samples else float("nan")


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--rate", type=float, default=2000.0, help="presses per second")
    arguments.add_argument("--seconds", type=float, default=None, help="default 180 (--quick 60)")
    arguments.add_argument("--sim-hours", type=float, default=None, help="event time of the run")
    arguments.add_argument("--grace", type=float, default=120.0, help="the worker's --grace")
    args = arguments.parse_args()
    seconds = args.seconds or (60.0 if args.quick else 180.0)
    hours = args.sim_hours or seconds / 30  # 2 h of event time a minute: windows close often
    sim = Simulation(
        PRESETS["demo"],
        datetime(2026, 3, 2, 7, tzinfo=UTC),
        timedelta(hours=hours),
        args.rate * seconds / (hours * 3600),
        3,
        degrade_after=timedelta(hours=hours / 4),
    )
    # Valid presses only: a malformed one has no verdict to wait for.
    records = [
        (p.key or b"", p.line, str(p.event_id))
        for p in sim.presses()
        if p.event_id and p.label != "malformed"
    ][: int(seconds * args.rate)]
    department = sim.city.degraded_department
    with broker() as bootstrap, tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        prefix = f"e2e{uuid.uuid4().hex[:8]}."
        create_topics(bootstrap, prefix)
        publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), sim.catalogue())
        run = worker_run(bootstrap, prefix, records, args.rate, Path(tmp), department, args.grace)
        hop = passthrough_run(bootstrap, prefix, records, args.rate)
    _line("press -> verdict (stream worker)", run.verdict, args.rate)
    _line("press -> queryable (worker + sink)", run.queryable, args.rate)
    _line(f"press -> alert on alerts.{department} (from the closing press)", run.alert, args.rate)
    print(f"alert events seen: {run.alerts_seen}", flush=True)
    _line("raw hop", hop, args.rate)
    hop_p99 = _p99(hop)
    verdict, queryable, alert = _p99(run.verdict), _p99(run.queryable), _p99(run.alert)
    report(
        [
            Figure("e2e_press_to_verdict_p99", verdict, "ms",
                   f"p99 < {TARGET_P99_MS:.0f} ms at {args.rate:g} presses/s",
                   verdict < TARGET_P99_MS, baseline=hop_p99),
            Figure("e2e_press_to_queryable_p99", queryable, "ms",
                   f"p99 < {QUERYABLE_P99_MS:.0f} ms at {args.rate:g} presses/s",
                   queryable < QUERYABLE_P99_MS, baseline=hop_p99),
            Figure("e2e_press_to_alert_p99", alert, "ms",
                   f"p99 < {TARGET_P99_MS:.0f} ms at {args.rate:g} presses/s",
                   alert < TARGET_P99_MS, baseline=hop_p99),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    main()
