"""End to end capacity: the highest rate with press -> verdict p99 under 1 s; CPU per press.

The highest sustained rate whose press -> verdict p99 stays under 1 s, and the CPU each process
spends per press.

The whole pipeline runs on this machine: the broker, the real stream worker (``civicpulse
stream worker``: anti-spam, scores, alerts), the real sink (``civicpulse sink`` into chDB) and a
paced load producer in its own process (``benchmarks.e2e_load``; it stands in for the ingest
API's producer). The rate is searched in steps (``benchmarks.capacity.LADDER``): ``--quick``
bisects the ladder from 1,000/s (three steps at most), the full run climbs it until a step fails.
Each step sends ``--seconds`` (60) of fresh simulated presses (``benchmarks.e2e_pipeline``);
it **holds** when press -> verdict p99 < 1 s over the whole step and the backlog (presses on
``presses.raw`` without an output yet, sampled each second) does not grow over the steady part
(after ``--warmup`` s: least-squares growth under 0.5 s of presses). A backlog past 5 s of
presses stops the step early (failed). Every latency starts at the press's CreateTime:

* press -> verdict: a consumer of ``presses.accepted``/``presses.rejected`` sees the press;
* press -> queryable: the row's ``ingested_at`` in ClickHouse (at the capacity rate);
* press -> alert: from the *closing press*, the first press sent whose ``received_at`` passes
  the alert's ``window_end + grace`` (an alert cannot fire before its window closes).

CPU: utime + stime (``/proc``) of each process over the steady part, per press judged in it
(the load's: per press sent), reported for the highest step the pipeline kept up with (every
press judged, the backlog flat, whatever its p99). Baselines in the same run: the Faust no-op
consumer (``benchmarks.faust_noop``: the worker's settings and batch shape, no judging) paced
alone at that step's rate gives the framework's floor, per message and its p99; a worker
running only the scores stage (its own group) over every accepted press of the run, from a
backlog (``benchmarks.scoring_ceiling.scores_run``), gives the one-partition scoring hop's
ceiling (target >= 5,000/s, else ``docs/scaling.md``'s split by department;
``benchmarks/scoring_ceiling.py`` measures it alone, several times).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from rich.table import Table

from benchmarks.capacity import LADDER, RateSearch, cores_needed
from benchmarks.common import Figure, broker_with_pid, parser, percentile, report
from benchmarks.e2e_pipeline import (
    Arrivals,
    catalogue,
    queryable_latencies,
    spawn,
    step_presses,
)
from benchmarks.e2e_steps import (
    Load,
    Pipeline,
    Step,
    console,
    cpu_per_press,
    idle_cores,
    run_step,
    start_pipeline,
    stop,
    warm_up,
    watch_load,
)
from benchmarks.faust_noop import OUTPUT as NOOP_OUTPUT
from benchmarks.scoring_ceiling import scores_run
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
from civicpulse.stream.catalogue.topic import publish_catalogue

TARGET_P99_MS = 1000.0
QUERYABLE_P99_MS = 2000.0
TARGET_CAPACITY = 1000.0
SCORING_TARGET = 5000.0
WORKER_RATIO_TARGET = 1.5
PROCESSES = ("load", "worker", "sink", "broker")
#: a large city's peak, presses/s: the cores table plans for it
CITY_PEAK = 2000.0


def _p(samples: list[float], q: float) -> float:
    return percentile(samples, q) if samples else math.nan


def _step_row(step: Step) -> list[str]:
    held = "[green]held[/]" if step.verdict.held else "[red]failed[/]"
    cpu = [f"{step.cpu_us.get(name, math.nan):.0f}" for name in PROCESSES]
    return [
        f"{step.rate:g}", f"{_p(step.latencies, 50):.0f}", f"{_p(step.latencies, 99):.0f}",
        f"{step.verdict.growth:+.0f}", f"{_p(step.alerts, 99):.0f} ({len(step.alerts)})", *cpu,
        held,
    ]  # fmt: skip


def _worst(step: Step, bucket: float = 5.0) -> str:
    """The 5 s of the step whose presses waited longest (a stall shows here)."""
    if not step.sent:
        return "nothing sent"
    start = min(step.sent.values())
    late: dict[int, float] = {}
    for event_id, at in step.sent.items():
        if event_id in step.seen:
            index = int((at - start) / 1000 / bucket)
            late[index] = max(late.get(index, 0.0), step.seen[event_id] - at)
    index = max(late, key=late.__getitem__)
    return f"worst {bucket:g} s: +{index * bucket:g} s, max {late[index]:.0f} ms"


def steps_table(steps: list[Step]) -> Table:
    table = Table(title="capacity steps (latency ms; CPU µs per press over the steady part)")
    for column in ("rate/s", "verdict p50", "p99", "backlog growth", "alert p99 (n)"):
        table.add_column(column, justify="right")
    for name in PROCESSES:
        table.add_column(f"{name} µs", justify="right")
    table.add_column("verdict")
    for step in steps:
        table.add_row(*_step_row(step))
    return table


@dataclass
class Search:
    steps: list[Step]
    capacity: float  # 0: no rate held
    idle: dict[str, float]  # process -> cores with no press flowing (after the warm-up)


def search(pipe: Pipeline, quick: bool, seconds: float, warmup: float) -> Search:
    """A warm-up, the processes' idle use, then steps until the search settles."""
    rates = RateSearch(bisect=quick)
    steps: list[Step] = []
    outs = [topic_name(PRESSES_ACCEPTED, pipe.prefix), topic_name(PRESSES_REJECTED, pipe.prefix)]
    verdicts = Arrivals(pipe.broker.bootstrap, outs)
    alerts = Arrivals(
        pipe.broker.bootstrap,
        [alert_topic_name(pipe.department, pipe.prefix)],
        key=lambda v: f"{v['alert_id']}:{v['state']}",
        keep_values=True,
    )
    try:
        console.rule("warm-up: 15 s at 250 presses/s (not measured), then 10 s idle")
        warm_up(pipe, verdicts)
        time.sleep(3)  # the last outputs and the sink's batch
        idle = idle_cores(pipe.pids(), 10.0)
        console.print("    idle: " + ", ".join(f"{n} {c:.3f} cores" for n, c in idle.items()))
        while (rate := rates.next_rate()) is not None:
            console.rule(f"step {len(steps) + 1}: {rate:g} presses/s for {seconds:g} s")
            step = run_step(pipe, len(steps), rate, seconds, warmup, verdicts, alerts)
            rates.record(rate, step.verdict.held)
            steps.append(step)
            console.print(steps_table([step]))
            console.print(f"    {step.verdict.reason}; {_worst(step)}")
    finally:
        verdicts.close()
        alerts.close()
    return Search(steps, rates.capacity, idle)


@dataclass
class NoopBaseline:
    us_per_message: float
    p99_ms: float
    messages: int
    idle: float  # cores with no message flowing


def noop_baseline(pipe: Pipeline, rate: float, seconds: float, warmup: float) -> NoopBaseline:
    """The Faust no-op consumer alone, paced at ``rate`` on a topic of its own."""
    prefix, bootstrap = pipe.prefix + "noop.", pipe.broker.bootstrap
    out_spec = TopicSpec(NOOP_OUTPUT, PRESSES_RAW.partitions, "device_id", None, "bench")
    ensure_topics(bootstrap, [PRESSES_RAW, out_spec], prefix)
    env = dict(pipe.env, CIVICPULSE_TOPIC_PREFIX=prefix, CIVICPULSE_DATA_DIR=str(pipe.tmp / "noop"))
    noop = spawn([sys.executable, "-m", "benchmarks.faust_noop"], env, pipe.tmp / "noop.log")
    outputs = Arrivals(bootstrap, [prefix + NOOP_OUTPUT])
    raw = topic_name(PRESSES_RAW, prefix)
    try:
        warm = Load.start(bootstrap, raw, 100, step_presses(90, 100, 2).records, pipe.tmp)
        if outputs.missing(set(warm.finish()), 120):
            raise RuntimeError(f"the no-op forwarded nothing; see {pipe.tmp / 'noop.log'}")
        time.sleep(3)
        idle = idle_cores({"noop": noop.pid}, 10.0)["noop"]
        load = Load.start(bootstrap, raw, rate, step_presses(91, rate, seconds).records, pipe.tmp)
        pids = {"noop": noop.pid, "load": load.process.pid}
        watch = watch_load(load, rate, raw, outputs, pids, warmup)
        sent = load.finish()
        outputs.missing(set(sent), 120)
        latencies = [outputs.seen[i] - t for i, t in sent.items() if i in outputs.seen]
    finally:
        outputs.close()
        stop(noop, 30)
    cpu, messages = cpu_per_press(watch.first, watch.last)
    return NoopBaseline(cpu.get("noop", math.nan), _p(latencies, 99), messages, idle)


@dataclass
class Ceiling:
    rate: float
    us_per_press: float
    presses: int


def scoring_ceiling(pipe: Pipeline) -> Ceiling:
    """A worker running only the scores stage (its own group) on every accepted press of the
    run, from a backlog (``benchmarks.scoring_ceiling.scores_run``; that benchmark measures it
    alone, several times)."""
    env = dict(pipe.env, CIVICPULSE_DATA_DIR=str(pipe.tmp / "ceiling"))
    try:
        found = scores_run(pipe.broker, pipe.prefix, env, pipe.tmp, "ceiling")
    except RuntimeError as exc:
        console.print(f"    the scores-only worker did not finish: {exc}")
        return Ceiling(math.nan, math.nan, 0)
    return Ceiling(found.rate, found.us_per_press, found.presses)


def _at(steps: list[Step], capacity: float) -> Step:
    """The step at the capacity rate, or the lowest rate tried when none held."""
    return next((s for s in steps if s.rate == capacity), min(steps, key=lambda s: s.rate))


def _costed(found: Search) -> Step:
    """The step whose CPU figures count: the highest rate the pipeline kept up with (every press
    judged, the backlog flat, whatever its p99: a stall fails the latency, not the cost), else
    the capacity step. The Faust no-op is paced at its rate, so both costs share one rate."""
    kept_up = [s for s in found.steps if s.verdict.kept_up]
    return max(kept_up, key=lambda s: s.rate) if kept_up else _at(found.steps, found.capacity)


def _measured(figure: Figure) -> Figure:
    """A figure the run could not measure (no alert closed, no CPU sample: NaN) still prints a
    number, as the RESULT contract wants: 0, short, and saying so."""
    baseline = figure.baseline
    if baseline is not None and math.isnan(baseline):
        figure = replace(figure, baseline=None)
    if not math.isnan(figure.value):
        return figure
    return replace(figure, value=0.0, ok=False, target=f"{figure.target} (not measured)")


def figures(
    found: Search, queryable: list[float], noop: NoopBaseline, ceiling: Ceiling
) -> list[Figure]:
    return [_measured(f) for f in _figures(found, queryable, noop, ceiling)]


def _figures(
    found: Search, queryable: list[float], noop: NoopBaseline, ceiling: Ceiling
) -> list[Figure]:
    at, costed = _at(found.steps, found.capacity), _costed(found)
    verdict, alert, stored = _p(at.latencies, 99), _p(at.alerts, 99), _p(queryable, 99)
    worker = costed.cpu_us.get("worker", math.nan)
    info = "information_(cores_per_press:_docs/scaling.md)"
    return [
        Figure("e2e_capacity", found.capacity, "presses/s",
               f">= {TARGET_CAPACITY:.0f} presses/s with press->verdict p99 < 1 s for the step",
               found.capacity >= TARGET_CAPACITY),
        Figure("e2e_press_to_verdict_p99", verdict, "ms",
               f"p99 < {TARGET_P99_MS:.0f} ms at {at.rate:g} presses/s (baseline: Faust no-op)",
               verdict < TARGET_P99_MS, baseline=noop.p99_ms),
        Figure("e2e_press_to_queryable_p99", stored, "ms",
               f"p99 < {QUERYABLE_P99_MS:.0f} ms at {at.rate:g} presses/s",
               stored < QUERYABLE_P99_MS, baseline=noop.p99_ms),
        Figure("e2e_press_to_alert_p99", alert, "ms",
               f"p99 < {TARGET_P99_MS:.0f} ms after the window closes at {at.rate:g} presses/s",
               alert < TARGET_P99_MS, baseline=noop.p99_ms),
        Figure("worker_cpu_us_per_press", worker, "us",
               f"<= {WORKER_RATIO_TARGET:g}x the Faust no-op's per message at {costed.rate:g}/s",
               worker <= WORKER_RATIO_TARGET * noop.us_per_message, baseline=noop.us_per_message),
        *(Figure(f"{name}_cpu_us_per_press", costed.cpu_us.get(name, math.nan), "us", info, True)
          for name in ("sink", "broker", "load")),
        Figure("scoring_hop_ceiling", ceiling.rate, "presses/s",
               f">= {SCORING_TARGET:.0f} presses/s (else split by department: docs/scaling.md)",
               ceiling.rate >= SCORING_TARGET),
    ]  # fmt: skip


def cost_table(found: Search, noop: NoopBaseline, ceiling: Ceiling, city: float) -> Table:
    """Per process: idle cores, µs per press at the highest rate the pipeline kept up with (every
    press judged, the backlog flat, whatever its p99), and the cores that cost gives at a city's
    peak: an upper bound, since a consumer's cost per press falls as its rate rises (its batches
    fill up; fetches, polls and flushes per second stay about the same)."""
    at = _costed(found)
    table = Table(
        title=f"CPU per process at {at.rate:g} presses/s (the highest rate kept up with), "
        f"and at most at {city:g}/s"
    )
    for column in ("process", "idle cores", f"µs/press at {at.rate:g}/s", f"cores at {city:g}/s"):
        table.add_column(column, justify="right")
    rows = {name: (found.idle.get(name, 0.0), at.cpu_us.get(name, math.nan)) for name in PROCESSES}
    rows["Faust no-op (baseline)"] = (noop.idle, noop.us_per_message)
    rows["scores-only worker (saturated)"] = (0.0, ceiling.us_per_press)
    for name, (idle, us) in rows.items():
        table.add_row(name, f"{idle:.3f}", f"{us:.0f}", f"{cores_needed(us, city):.2f}")
    return table


def _summary(noop: NoopBaseline, ceiling: Ceiling, loads: list[tuple[float, float, float]]) -> None:
    console.print(
        f"Faust no-op alone at the costed rate: {noop.us_per_message:.0f} µs CPU a message "
        f"({noop.messages} messages), idle {noop.idle:.3f} cores, p99 {noop.p99_ms:.0f} ms"
    )
    bound = 1e6 / ceiling.us_per_press if ceiling.us_per_press else math.nan
    console.print(
        f"scoring hop (a worker running only the scores stage): {ceiling.rate:.0f} presses/s, "
        f"{ceiling.us_per_press:.0f} µs CPU a press ({ceiling.presses} presses): "
        f"{bound:.0f} presses/s on a core of its own"
    )
    before, after = loads
    console.print(f"load average at the start {before[0]:.2f}, at the end {after[0]:.2f}")


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=60.0, help="the length of a step")
    arguments.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of a step left out of CPU and growth"
    )
    args = arguments.parse_args()
    loads = [os.getloadavg()]
    search_mode = "bisecting the ladder" if args.quick else "climbing the ladder"
    console.print(f"capacity search, {search_mode} {', '.join(f'{r:g}' for r in LADDER)}/s")
    with broker_with_pid() as broker, tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        prefix = f"e2e{uuid.uuid4().hex[:8]}."
        create_topics(broker.bootstrap, prefix)
        city, department = catalogue()
        publish_catalogue(broker.bootstrap, topic_name(CATALOGUE_DEVICES, prefix), city)
        pipe = Pipeline(broker, prefix, Path(tmp), department)
        try:
            start_pipeline(pipe)
            found = search(pipe, args.quick, args.seconds, args.warmup)
        finally:
            for process in pipe.processes.values():
                stop(process)
        queryable = queryable_latencies(Path(tmp) / "chdb", _at(found.steps, found.capacity).sent)
        costed = _costed(found).rate
        console.rule(f"baseline: the Faust no-op at {costed:g} presses/s (the costed step's rate)")
        noop = noop_baseline(pipe, costed, args.seconds, args.warmup)
        console.rule("the scoring hop's ceiling")
        ceiling = scoring_ceiling(pipe)
    loads.append(os.getloadavg())
    console.print(steps_table(found.steps))
    console.print(cost_table(found, noop, ceiling, CITY_PEAK))
    _summary(noop, ceiling, loads)
    report(figures(found, queryable, noop, ceiling))


if __name__ == "__main__":
    main()
