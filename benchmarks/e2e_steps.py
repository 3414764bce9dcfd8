"""The capacity benchmark's steps: the running pipeline, one paced send watched each second
(backlog, CPU per process), and one step's outcome (``e2e_latency.py`` searches the rate)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from confluent_kafka import Consumer
from rich.console import Console

from benchmarks.capacity import (
    StepVerdict,
    judge_step,
    process_cpu_seconds,
    us_per_press,
)
from benchmarks.common import Broker, percentile
from benchmarks.e2e_pipeline import (
    Arrivals,
    alert_latencies,
    end_offsets,
    spawn,
    step_presses,
    wait_for_log,
)
from civicpulse.schemas.topics import PRESSES_RAW, topic_name

__all__ = [
    "GRACE_SECONDS",
    "Load",
    "Pipeline",
    "Step",
    "console",
    "cpu_per_press",
    "idle_cores",
    "run_step",
    "start_pipeline",
    "stop",
    "warm_up",
    "watch_load",
]

#: a step whose backlog passes this many seconds of presses has failed: stop sending
RUNAWAY_SECONDS = 5.0
GRACE_SECONDS = 120.0
console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)


@dataclass
class Step:
    """What one step measured."""

    rate: float
    verdict: StepVerdict
    latencies: list[float]
    sent: dict[str, float]  # event id -> CreateTime (ms)
    seen: dict[str, float]  # event id -> first output's arrival (ms)
    alerts: list[float]
    cpu_us: dict[str, float]  # process -> CPU µs per press over the steady part
    steady_presses: int


@dataclass
class Pipeline:
    """The running pipeline and the probes that watch it."""

    broker: Broker
    prefix: str
    tmp: Path
    department: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_ms: float = 0.0

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ, KAFKA_BOOTSTRAP=self.broker.bootstrap)
        env["CIVICPULSE_TOPIC_PREFIX"] = self.prefix
        env["CIVICPULSE_CLICKHOUSE_DSN"] = f"chdb://{self.tmp / 'chdb'}"
        env.pop("CIVICPULSE_METRICS_PORT", None)
        return env

    def pids(self) -> dict[str, int]:
        found = {name: p.pid for name, p in self.processes.items() if p.poll() is None}
        if self.broker.pid is not None:
            found["broker"] = self.broker.pid
        return found


def _civicpulse() -> str:
    return str(Path(sys.executable).with_name("civicpulse"))


def start_pipeline(pipe: Pipeline) -> None:
    env = dict(pipe.env, CIVICPULSE_DATA_DIR=str(pipe.tmp / "worker"))
    worker_log = pipe.tmp / "worker.log"
    pipe.processes["worker"] = spawn(
        [_civicpulse(), "stream", "worker", "--loglevel", "info", "--grace", str(GRACE_SECONDS)],
        env, worker_log,
    )  # fmt: skip
    pipe.processes["sink"] = spawn([_civicpulse(), "sink"], env, pipe.tmp / "sink.log")
    wait_for_log(pipe.processes["worker"], worker_log, "[^Worker]: Ready", 120)
    time.sleep(2)  # past Faust's first commit and the catalogue read


def stop(process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """SIGTERM and wait (the sink flushes, commits and closes chDB)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class Load:
    """One paced send in progress (``benchmarks.e2e_load``)."""

    process: subprocess.Popen[bytes]
    out: Path
    started: float

    @classmethod
    def start(cls, bootstrap: str, topic: str, rate: float, records: list[tuple[str, str, str]],
              tmp: Path) -> Load:  # fmt: skip
        name = uuid.uuid4().hex[:8]
        source, out = tmp / f"load-{name}.jsonl", tmp / f"sent-{name}.json"
        source.write_bytes(b"\n".join(orjson.dumps(list(r)) for r in records))
        argv = [sys.executable, "-m", "benchmarks.e2e_load", bootstrap, topic, str(rate)]
        process = subprocess.Popen(
            [*argv, str(source), str(out)], stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent
        )
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("START "):
            raise RuntimeError(f"the load did not start: {line!r}")
        return cls(process, out, float(line.split()[1]))

    def finish(self) -> dict[str, float]:
        self.process.wait(120)
        sent: dict[str, float] = orjson.loads(self.out.read_bytes())
        return sent


@dataclass
class Snapshot:
    at: float
    raw: int  # presses sent so far (presses.raw's end offsets)
    out: int  # outputs seen so far (one per press)
    cpu: dict[str, float]


def _snapshot(consumer: Consumer, topic: str, outputs: Arrivals, pids: dict[str, int]) -> Snapshot:
    cpu = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    # Reading the end offsets takes a round trip per partition: the outputs counted before and
    # after it, averaged, belong to the same moment (counted after only, outputs of presses
    # sent during the read made the backlog look negative).
    before = outputs.count
    raw = end_offsets(consumer, topic, PRESSES_RAW.partitions)
    return Snapshot(time.time(), raw, (before + outputs.count) // 2, cpu)


def cpu_per_press(first: Snapshot | None, last: Snapshot | None) -> tuple[dict[str, float], int]:
    """CPU µs per press of each process between two snapshots: the load's per press sent, the
    others' per press that came out (they differ only when a backlog builds)."""
    if first is None or last is None or last.out <= first.out:
        return {}, 0
    sent, out = last.raw - first.raw, last.out - first.out
    return {
        n: us_per_press(last.cpu[n] - first.cpu[n], sent if n == "load" else out) for n in first.cpu
    }, out


@dataclass
class Watch:
    """What the sampling loop of one paced send saw."""

    backlog: list[tuple[float, float]]  # (seconds into the steady part, presses)
    first: Snapshot | None
    last: Snapshot | None
    stopped_early: bool


def watch_load(
    load: Load, rate: float, topic: str, outputs: Arrivals, pids: dict[str, int], warmup: float
) -> Watch:
    """Sample the backlog and the processes' CPU each second until the paced send ends."""
    probe = Consumer({"bootstrap.servers": outputs.bootstrap, "group.id": "e2e-probe"})
    raw_base, out_base = end_offsets(probe, topic, PRESSES_RAW.partitions), outputs.count
    watch = Watch([], None, None, False)
    next_print = load.started + 10
    try:
        while load.process.poll() is None:
            time.sleep(1.0)
            snap = _snapshot(probe, topic, outputs, pids)
            if load.process.poll() is not None:
                break  # the send ended during the snapshot: the previous one is the last
            backlog = (snap.raw - raw_base) - (snap.out - out_base)
            since = snap.at - load.started
            if since >= warmup:
                watch.first = watch.first or snap
                watch.last = snap
                watch.backlog.append((snap.at - watch.first.at, float(backlog)))
            if snap.at >= next_print:
                sent = snap.raw - raw_base
                console.print(f"    {since:4.0f} s: {sent:>7} sent, backlog {backlog}")
                next_print += 10
            if backlog > rate * RUNAWAY_SECONDS and not watch.stopped_early:
                console.print(f"    [red]backlog {backlog} > {RUNAWAY_SECONDS:g} s: stopping[/]")
                load.process.send_signal(signal.SIGTERM)
                watch.stopped_early = True
    finally:
        probe.close()
    return watch


def idle_cores(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Each process's CPU use (cores) over ``seconds`` with no press flowing."""
    before, started = {n: process_cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {n: (process_cpu_seconds(p) - before[n]) / elapsed for n, p in pids.items()}


def warm_up(pipe: Pipeline, verdicts: Arrivals, rate: float = 250.0, seconds: float = 15.0) -> None:
    """Presses of the day before the first step, not measured: a worker's first batches (group
    join, first fetches, the sink's first insert) are seconds slower than the rest."""
    presses = step_presses(-1, rate, seconds)
    topic = topic_name(PRESSES_RAW, pipe.prefix)
    sent = Load.start(pipe.broker.bootstrap, topic, rate, presses.records, pipe.tmp).finish()
    if verdicts.missing(set(sent), 120):
        raise RuntimeError(f"the worker judged nothing in 120 s; see {pipe.tmp / 'worker.log'}")


def run_step(pipe: Pipeline, index: int, rate: float, seconds: float, warmup: float,
             verdicts: Arrivals, alerts: Arrivals) -> Step:  # fmt: skip
    """Send one step at ``rate``, wait for its verdicts, judge it."""
    presses = step_presses(index, rate, seconds)
    topic = topic_name(PRESSES_RAW, pipe.prefix)
    load = Load.start(pipe.broker.bootstrap, topic, rate, presses.records, pipe.tmp)
    pipe.started_ms = pipe.started_ms or load.started * 1000
    pids = {**pipe.pids(), "load": load.process.pid}
    watch = watch_load(load, rate, topic, verdicts, pids, warmup)
    sent = load.finish()
    missing = verdicts.missing(set(sent), 300)
    time.sleep(2)  # the alerts the last presses closed
    seen = {i: verdicts.seen[i] for i in sent if i in verdicts.seen}
    latencies = [seen[i] - t for i, t in sent.items() if i in seen]
    p99 = percentile(latencies, 99) if latencies else float("inf")
    verdict = judge_step(rate, p99, watch.backlog, missing, stopped_early=watch.stopped_early)
    alert = alert_latencies(
        presses.records, sent, alerts, int(GRACE_SECONDS * 1000), pipe.started_ms + 15_000
    )
    cpu, steady = cpu_per_press(watch.first, watch.last)
    return Step(rate, verdict, latencies, sent, seen, alert, cpu, steady)
