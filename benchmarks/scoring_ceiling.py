"""The one-partition scoring stage's ceiling, from a backlog, with Faust's floor beside it.

Scores and alerts need the whole city in one place, so every accepted press goes through the
one-partition scoring topic to one scores agent (``docs/scaling.md``). This measures how many
presses a second that stage takes, alone on a core, so a city knows where its limit is
(``docs/scaling.md`` keeps 5,000 presses/s).

1. The simulator's city (``--presses``, 10 h of a day) goes on ``presses.raw`` and a worker
   running only the anti-spam stage judges it (``presses.accepted`` with the raw headers, as in
   production). Then the broker holds a backlog of accepted presses and nothing else runs.
2. ``--runs`` times: a worker running only the scores stage (``--stages scores``: the scoring
   hop from ``presses.accepted`` and the scores agent, in one process, so the figure is a lower
   bound: in production the hop spreads over every worker) in a consumer group of its own reads
   the whole backlog. Sampled every ``SAMPLE_S``: presses the hop forwarded (its committed offsets),
   whether the scores agent read everything the hop wrote (its committed offset at the scoring
   topic's end), and the process's CPU time. Rate = presses / (done - first progress); CPU per
   press over the same span. The median run is reported, with the spread.
3. Baseline in the same run: the Faust no-op consumer (``benchmarks.faust_noop``: the worker's
   settings and batch shape, no work) over the same number of presses: Faust's own ceiling per
   message, and its CPU per message.

Target: ``scoring_ceiling`` >= 5,000 presses/s. Run it alone: other work on the machine moves
the figure (``docs/benchmarks.md``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from benchmarks.capacity import process_cpu_seconds
from benchmarks.common import Broker, Figure, broker_with_pid, parser, report
from benchmarks.e2e_pipeline import spawn
from benchmarks.e2e_steps import stop
from benchmarks.stream_throughput import publish
from civicpulse.schemas.topics import PRESSES_ACCEPTED, PRESSES_RAW, TopicSpec, topic_name
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.stages.scores.processor import SCORING

TARGET = 5_000.0
#: a run that has not finished after this long is reported as failed
RUN_LIMIT_S = 600.0
#: seconds between samples of the offsets and the CPU time
SAMPLE_S = 0.25


@dataclass(frozen=True)
class Run:
    rate: float  # presses/s
    us_per_press: float
    seconds: float
    presses: int


def _ends(consumer: Consumer, topic: str, partitions: int) -> list[int]:
    return [
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in range(partitions)
    ]


def _committed(consumer: Consumer, topic: str, partitions: int) -> list[int]:
    found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    return [max(tp.offset, 0) for tp in found]


def judge_backlog(pipe: Broker, prefix: str, env: dict[str, str], tmp: Path) -> int:
    """Every press judged by an anti-spam-only worker (its group committed presses.raw's end;
    malformed presses go to the dead letters); the number of accepted presses."""
    argv = [str(Path(sys.executable).with_name("civicpulse")), "stream", "worker"]
    worker = spawn([*argv, "--stages", "antispam", "--group", "fill"], env, tmp / "fill.log")
    probe = Consumer({"bootstrap.servers": pipe.bootstrap, "group.id": f"{prefix}civicpulse-fill"})
    raw = topic_name(PRESSES_RAW, prefix)
    try:
        deadline = time.monotonic() + RUN_LIMIT_S
        while _committed(probe, raw, 6) != _ends(probe, raw, 6):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the anti-spam worker did not judge every press: {tmp}")
            time.sleep(1.0)
        return sum(_ends(probe, topic_name(PRESSES_ACCEPTED, prefix), 6))
    finally:
        probe.close()
        stop(worker, 60)


def _measure(
    process: subprocess.Popen[bytes], progress: Callable[[], tuple[int, bool]], what: str
) -> Run:
    """Samples ``progress`` (presses done so far, whether all are) every ``SAMPLE_S`` until all
    are: the rate and the process's CPU per press from the first progress seen to the end."""
    first: tuple[float, int, float] | None = None  # (time, presses done, cpu seconds)
    deadline = time.monotonic() + RUN_LIMIT_S
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(SAMPLE_S)
        now, cpu = time.monotonic(), process_cpu_seconds(process.pid)
        done, finished = progress()
        if first is None and done > 0:
            first = (now, done, cpu)
        if finished and first is not None:
            presses, seconds = done - first[1], now - first[0]
            if presses <= 0 or seconds <= 0:
                raise RuntimeError(f"{what}: done within one sample: give more --presses")
            return Run(presses / seconds, (cpu - first[2]) * 1e6 / presses, seconds, presses)
    raise RuntimeError(f"{what} did not finish within {RUN_LIMIT_S:.0f} s")


def scores_run(pipe: Broker, prefix: str, env: dict[str, str], tmp: Path, group: str) -> Run:
    """One scores-only worker over the whole accepted backlog (see module doc)."""
    app_id = f"{prefix}civicpulse-{group}"
    accepted_topic = topic_name(PRESSES_ACCEPTED, prefix)
    scoring_topic = SCORING.physical_name(app_id)
    probe = Consumer({"bootstrap.servers": pipe.bootstrap, "group.id": app_id})
    accepted = sum(_ends(probe, accepted_topic, 6))

    def progress() -> tuple[int, bool]:
        forwarded = sum(_committed(probe, accepted_topic, 6))
        if forwarded < accepted:
            return forwarded, False
        scored = _committed(probe, scoring_topic, 1)[0]
        return forwarded, scored >= _ends(probe, scoring_topic, 1)[0] > 0

    argv = [str(Path(sys.executable).with_name("civicpulse")), "stream", "worker"]
    worker = spawn([*argv, "--stages", "scores", "--group", group], env, tmp / f"{group}.log")
    try:
        return _measure(worker, progress, f"{group}: scoring {accepted} presses (log: {tmp})")
    finally:
        probe.close()
        stop(worker, 60)


def noop_run(pipe: Broker, prefix: str, env: dict[str, str], tmp: Path, n: int) -> Run:
    """The Faust no-op over the ``n`` presses of presses.raw (its own group)."""
    from benchmarks.faust_noop import OUTPUT
    from civicpulse.infra.topics import ensure_topics

    ensure_topics(pipe.bootstrap, [TopicSpec(OUTPUT, 6, "device_id", None, "bench")], prefix)
    probe = Consumer({"bootstrap.servers": pipe.bootstrap, "group.id": f"{prefix}probe-noop"})

    def progress() -> tuple[int, bool]:
        done = sum(_ends(probe, prefix + OUTPUT, 6))
        return done, done >= n

    noop = spawn([sys.executable, "-m", "benchmarks.faust_noop"], env, tmp / "noop.log")
    try:
        return _measure(noop, progress, f"the Faust no-op forwarding {n} presses (log: {tmp})")
    finally:
        probe.close()
        stop(noop, 60)


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=0, help="presses (150,000; --quick 60,000)")
    ap.add_argument("--runs", type=int, default=0, help="scores-only runs (default 5; --quick 3)")
    args = ap.parse_args()
    n = args.presses or (60_000 if args.quick else 150_000)
    runs = args.runs or (3 if args.quick else 5)
    start = datetime(2026, 3, 2, 6, tzinfo=UTC)
    sim = Simulation(PRESETS["demo"], start, timedelta(hours=10), n / 36_000, 1)
    presses = list(sim.presses())
    with broker_with_pid() as pipe, tempfile.TemporaryDirectory(prefix="bench-scoring-") as t:
        tmp = Path(t)
        prefix = f"ceiling{uuid.uuid4().hex[:6]}."
        env = dict(os.environ, KAFKA_BOOTSTRAP=pipe.bootstrap, CIVICPULSE_TOPIC_PREFIX=prefix)
        env["CIVICPULSE_DATA_DIR"] = str(tmp / "data")
        publish(pipe.bootstrap, prefix, sim, presses)
        accepted = judge_backlog(pipe, prefix, env, tmp)
        print(f"{len(presses)} presses judged, {accepted} accepted: the backlog", flush=True)
        results = []
        for i in range(runs):
            found = scores_run(pipe, prefix, env, tmp, f"ceiling{i}")
            results.append(found)
            print(f"  run {i + 1}: {found.rate:,.0f} presses/s, {found.us_per_press:.0f} µs CPU "
                  f"a press, {found.seconds:.0f} s", flush=True)  # fmt: skip
        noop = noop_run(pipe, prefix, env, tmp, len(presses))
        print(f"  Faust no-op: {noop.rate:,.0f} messages/s, {noop.us_per_press:.0f} µs CPU a "
              f"message", flush=True)  # fmt: skip
    rates = sorted(r.rate for r in results)
    median = statistics.median(rates)
    us = statistics.median(r.us_per_press for r in results)
    print(f"scores stage: median {median:,.0f} presses/s (runs {rates[0]:,.0f}-{rates[-1]:,.0f}), "
          f"median {us:.0f} µs CPU a press", flush=True)  # fmt: skip
    report(
        [
            Figure(
                "scoring_ceiling",
                median,
                "presses/s",
                f">={TARGET:,.0f}",
                median >= TARGET,
                baseline=noop.rate,
            ),
            Figure(
                "scoring_cpu_us_per_press",
                us,
                "µs",
                "information (baseline: Faust no-op per message)",
                True,
                baseline=noop.us_per_press,
            ),
        ]
    )


if __name__ == "__main__":
    main()
