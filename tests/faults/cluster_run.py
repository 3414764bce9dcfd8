"""One cluster fault run, start to finish (shared by tests/faults and ``benchmarks/cluster.py``).

1. A local cluster of three nodes of the run's own, the topics with 3 replicas (2 in sync), the
   simulated city's catalogue; two stream workers in one group, the sink, the API.
2. The simulator's terminal presses flow through the API (``api_feed.ApiFeeder``) while the
   seeded ``plan.cluster_plan`` strikes once a round: SIGKILL the node leading the busiest
   partition (restarted seconds later), SIGKILL a worker (restarted), add a worker, stop one
   with SIGTERM: each a rebalance of the group with table recovery, the scoring hop moving
   between workers. ``VerdictWatch`` notes when each verdict was produced.
3. The pipeline drains, then the ground truth of ``run.py``: every press the API accepted is
   stored exactly once, with the verdict of ``civicpulse replay`` over the raw topic as stored,
   and ``verify`` finds the stored scores equal to a recomputation (windows compared).
4. The longest time no verdict was produced while presses flowed, per round and overall.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from civicpulse.infra.kafka import start_broker
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    topic_name,
)
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue
from tests.integration.readback import fresh_consumer

from .api_feed import ApiFeeder, terminal_presses
from .cluster_pipeline import ClusterPipeline, own_cluster_config
from .plan import ClusterFault, cluster_plan
from .run import (
    StoredCheck,
    _probe,
    _raw_in_order,
    _settle_scores,
    _wait_for_outputs,
    expected_outcome,
)

__all__ = [
    "ClusterConfig",
    "ClusterOutcome",
    "VerdictWatch",
    "busy_start",
    "group_timeline",
    "longest_gap",
    "run_cluster",
]


@dataclass(frozen=True)
class ClusterConfig:
    rounds: int = 6
    round_seconds: float = 20.0
    rate: float = 60.0  # presses per second through the API
    seed: int = 1
    hours: float = 2.0  # event time the presses span, from the latest working morning
    drain: float = 20.0  # the workers' --drain (windows close after this long without a press)
    settle: float = 26.0  # scores quiet this long: every window closed


@dataclass
class ClusterOutcome(StoredCheck):
    config: ClusterConfig
    refused: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    stalls: list[float] = field(default_factory=list)  # per round, seconds
    #: the longest time without a verdict from the first round's start until every press had
    #: its verdict (a stall that spans rounds counts whole, unlike the per-round figures)
    stall: float = 0.0
    #: when each verdict was produced (epoch seconds), for a closer look
    stamps: list[float] = field(default_factory=list)
    #: seconds from the last press's first verdict until the output check had seen them all
    check_lag: float = 0.0
    #: the press that waited longest from the API's write to its first verdict:
    #: (seconds, raw partition, seconds after the last round's end it was written)
    slowest: tuple[float, int, float] = (0.0, -1, 0.0)
    #: seconds each phase took (start, rounds, outputs, scores, drain)
    phases: dict[str, float] = field(default_factory=dict)
    #: the workers' group events in time order (``group_timeline``), for a failure message
    timeline: str = ""

    @property
    def max_stall(self) -> float:
        return max(self.stall, *self.stalls) if self.stalls else self.stall

    @property
    def rebalances(self) -> int:
        return sum(self.faults.get(k, 0) for k in ("kill-worker", "add-worker", "stop-worker"))

    def verified(self) -> bool:
        return self.verify_ok and self.verify_compared > 0  # a run that compared nothing failed

    def summary(self) -> str:
        exits = ", ".join(f"{who} {status}" for who, status in self.exits) or "none"
        stalls = ", ".join(f"{s:.1f}" for s in self.stalls)
        return (
            f"{self.config.rounds} rounds, faults {self.faults}, unplanned exits: {exits}; "
            f"{self.presses} presses accepted by the API ({self.refused} refused as invalid), "
            f"{self.stored} stored, {len(self.lost)} lost, {self.doubled} doubled, "
            f"{len(self.wrong_verdicts)} verdicts unlike the replay, verify "
            f"{'ok' if self.verify_ok else 'FAILED'} ({self.verify_compared} windows); "
            f"longest time without a verdict: {self.stall:.1f} s (per round: [{stalls}] s; "
            f"the output check saw the last verdict {self.check_lag:.1f} s after it; the slowest "
            f"press waited {self.slowest[0]:.1f} s, raw partition {self.slowest[1]}, written "
            f"{self.slowest[2]:+.1f} s from the last round's end); "
            f"{self.resent} batches re-sent; {self.seconds:.0f}s ("
            + ", ".join(f"{k} {v:.0f}s" for k, v in self.phases.items())
            + ")"
        )


def busy_start(now: datetime, hours: float) -> datetime:
    """Where the run's event time begins: 07:00 UTC of the latest weekday whose span of
    ``hours`` ended before ``now``. Terminals press in the city's desk hours (the simulator's
    night has web presses only), and the API judges a press more than 7 days old (a terminal's
    ``max_delay``) as clock skew: so the latest working morning, not a fixed date."""
    day = now.astimezone(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    while day.weekday() >= 5 or day + timedelta(hours=hours) > now:
        day -= timedelta(days=1)
    return day


#: worker log lines that tell a rebalance's steps (Faust's and aiokafka's own wording)
GROUP_EVENTS = re.compile(
    r"Heartbeat failed|Revoking|Joined group|Successfully synced|Executing _on_partitions|"
    r"Recovery\]: (Restoring|Done|Restore complete|Worker ready|Still fetching)|"
    r"Signal received|coordinator|rebalanc|timed out|WARNING|ERROR|CRITICAL",
    re.IGNORECASE,
)
#: what aiokafka repeats ten times a second while a killed node is down: counted, not listed
NOISE = re.compile(r"NodeNotReadyError|Unable connect to node|Failed fetch messages")


def group_timeline(root: Path) -> str:
    """Every worker's group events (``GROUP_EVENTS``), merged in time order: which step of
    which worker's rebalance took the time."""
    events: list[tuple[str, str, str]] = []
    for log in sorted(root.glob("worker-*/worker-*.log")):
        noise = 0
        for line in log.read_text(errors="replace").splitlines():
            # Faust's "[2026-12-05 07:20:38,951] [pid] [LEVEL] text" or ours without brackets
            stamp = re.match(r"\[?\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d,\d{3})\]? ", line)
            if stamp is None or not GROUP_EVENTS.search(line):
                continue
            if NOISE.search(line):
                noise += 1
                continue
            events.append((stamp[1], log.parent.name, line[stamp.end() :][:160]))
        if noise:
            events.append(("~", log.parent.name, f"({noise} lines of a node down left out)"))
    return "\n".join(f"{clock} {who}: {text}" for clock, who, text in sorted(events))


def longest_gap(stamps: list[float], start: float, end: float) -> float:
    """The longest time within [start, end] with no stamp (the edges count as gaps too)."""
    inside = sorted(s for s in stamps if start <= s <= end)
    edges = [start, *inside, end]
    return max(b - a for a, b in itertools.pairwise(edges))


class VerdictWatch:
    """Reads the verdict topics in a thread and keeps when each verdict was produced (the
    record's timestamp, set by the worker's producer), so a reader's own reconnects to a
    killed node do not count as the pipeline's stall; and when (and to which partition) the
    API wrote each press to the raw topic, to tell a slow verdict from a late press."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.stamps: list[float] = []
        #: event id -> when its first verdict was produced
        self.first: dict[str, float] = {}
        #: event id -> (when the API wrote it to the raw topic, raw partition)
        self.written: dict[str, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._topics = [topic_name(s, prefix) for s in (PRESSES_ACCEPTED, PRESSES_REJECTED)]
        self._raw = topic_name(PRESSES_RAW, prefix)
        self._bootstrap = bootstrap
        self._thread = threading.Thread(target=self._run, name="verdict-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        consumer = fresh_consumer(self._bootstrap, "fault-verdicts")
        consumer.subscribe([*self._topics, self._raw])
        try:
            while not self._stop.is_set():
                for message in consumer.consume(1000, 0.5):
                    if message.error() is not None:
                        continue
                    stamp = message.timestamp()[1] / 1000
                    try:
                        event_id = orjson.loads(message.value())["event_id"]
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        continue  # a malformed raw press: dead-lettered, never judged
                    if message.topic() == self._raw:
                        self.written.setdefault(event_id, (stamp, message.partition()))
                    else:
                        self.stamps.append(stamp)
                        self.first.setdefault(event_id, stamp)
        finally:
            consumer.close()

    def all_judged_at(self, ids: set[str], timeout: float) -> float | None:
        """When the last of ``ids`` got its first verdict, once the watch has read them all;
        None if it has not within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not ids <= self.first.keys():
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)
        return max(self.first[i] for i in ids)

    def slowest(self, ids: set[str], after: float) -> tuple[float, int, float]:
        """(wait, raw partition, written - ``after``) of the press of ``ids`` that waited
        longest from the API's write to its first verdict."""
        waits = [
            (self.first[i] - self.written[i][0], self.written[i][1], self.written[i][0] - after)
            for i in ids
            if i in self.first and i in self.written
        ]
        return max(waits, default=(0.0, -1, 0.0))


def _strike(pipeline: ClusterPipeline, fault: ClusterFault) -> None:
    if fault.fault == "kill-leader":
        pipeline.kill_leader()
    elif fault.fault == "kill-worker":
        pipeline.kill_worker(fault.pick)
    elif fault.fault == "add-worker":
        pipeline.add_worker()
    else:
        pipeline.stop_worker_gracefully(fault.pick)


def _fault_rounds(pipeline: ClusterPipeline, config: ClusterConfig) -> list[tuple[float, float]]:
    """Runs the plan; returns each round's (start, end) in epoch seconds."""
    begin, epoch = time.monotonic(), time.time()
    due: list[tuple[float, str]] = []  # (monotonic offset, "node"|"worker") restarts
    for fault in cluster_plan(config.seed, config.rounds, config.round_seconds):
        while time.monotonic() - begin < fault.at:
            _restart_due(pipeline, due, time.monotonic() - begin)
            pipeline.supervise()
            time.sleep(0.1)
        _strike(pipeline, fault)
        if fault.back is not None:
            due.append((fault.at + fault.back, "node" if fault.fault == "kill-leader" else "w"))
    end = config.rounds * config.round_seconds
    while time.monotonic() - begin < end or due:
        _restart_due(pipeline, due, time.monotonic() - begin)
        pipeline.supervise()
        time.sleep(0.1)
    size = config.round_seconds
    return [(epoch + n * size, epoch + (n + 1) * size) for n in range(config.rounds)]


def _restart_due(pipeline: ClusterPipeline, due: list[tuple[float, str]], now: float) -> None:
    for item in [d for d in due if d[0] <= now]:
        due.remove(item)
        if item[1] == "node":
            pipeline.restart_nodes()
        else:
            pipeline.restart_worker()


def _start(pipeline: ClusterPipeline, sim: Simulation, devices: list[str]) -> dict[str, str]:
    start_broker(pipeline.broker, timeout=180)
    create_topics(pipeline.bootstrap, pipeline.prefix, replication_factor=3)
    publish_catalogue(pipeline.bootstrap, topic_name(CATALOGUE_DEVICES, pipeline.prefix),
                      sim.catalogue())  # fmt: skip
    pipeline.start_worker()
    pipeline.start_worker()
    pipeline.start_sink()
    keys = pipeline.start_api(devices)
    pipeline.wait_ready()
    return keys


def run_cluster(config: ClusterConfig, root: Path) -> ClusterOutcome:
    """Run the whole cluster scenario in ``root`` (module doc); never raises on a finding."""
    began = time.monotonic()
    outcome = ClusterOutcome(config)
    drain = ("--drain", str(config.drain), "--stall-seconds", "30")
    pipeline = ClusterPipeline(own_cluster_config(root / "kafka"), root, worker_args=drain)
    total = config.rounds * config.round_seconds * config.rate
    start = busy_start(datetime.now(UTC), config.hours)
    # terminals make about 2/3 of a working morning's presses: ask for enough of them
    sim = Simulation(PRESETS["demo"], start, timedelta(hours=config.hours),
                     1.6 * total / (config.hours * 3600), config.seed)  # fmt: skip
    presses = terminal_presses(list(sim.presses()))[: int(total)]
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        outcome.phases[name] = time.monotonic() - mark
        mark = time.monotonic()

    try:
        keys = _start(pipeline, sim, sorted({p.device_id for p in presses}))
        phase("start")
        watch = VerdictWatch(pipeline.bootstrap, pipeline.prefix)
        watch.start()
        feeder = ApiFeeder(pipeline.api_url, presses, keys, config.rate)
        feeder.start()
        rounds = _fault_rounds(pipeline, config)
        feeder.wait(600)
        phase("rounds")
        outcome.resent, outcome.refused = feeder.retried, len(feeder.refused)
        raw = _raw_in_order(pipeline.bootstrap, topic_name(PRESSES_RAW, pipeline.prefix))
        first, dead = expected_outcome(raw, sim)
        _wait_for_outputs(pipeline, feeder.accepted, dead, timeout=300)
        # when the last press got its verdict (the watch's stamps), not when this check saw it:
        # a fresh reader after a node kill can take half a minute to see what is there
        seen = time.time()
        judged = watch.all_judged_at(feeder.accepted, timeout=60) or seen
        outcome.check_lag = seen - judged
        outcome.slowest = watch.slowest(feeder.accepted, after=rounds[-1][1])
        watch.stop()
        phase("outputs")
        outcome.stamps = sorted(watch.stamps)
        outcome.stalls = [longest_gap(watch.stamps, a, b) for a, b in rounds]
        # until every press has its verdict: a partition nobody fetches after the last round
        # leaves presses unjudged, and that counts as much as a stall while presses flow
        outcome.stall = longest_gap(watch.stamps, rounds[0][0], max(judged, rounds[-1][1]))
        _settle_scores(pipeline, quiet=config.settle, timeout=600)
        phase("scores")
        pipeline.stop_workers()
        pipeline.stop_sink()
        pipeline.drain_sink()
        stored = _probe(pipeline)
        phase("drain")
    finally:
        outcome.faults, outcome.exits = dict(pipeline.faults), list(pipeline.exits)
        pipeline.close()
        outcome.timeline = group_timeline(root)
    verdicts: dict[str, str] = stored["verdicts"]
    made = feeder.accepted
    outcome.presses, outcome.stored = len(made), len(verdicts)
    outcome.lost = sorted(made - verdicts.keys())
    outcome.extra = sorted(verdicts.keys() - made)
    outcome.doubled = stored["final_rows"] - stored["final_distinct"]
    outcome.wrong_verdicts = [
        f"{i}: stored {v}, replay {first.get(i)}" for i, v in verdicts.items() if first.get(i) != v
    ]
    outcome.verify_ok = stored["verify_ok"]
    outcome.verify_compared = stored["verify_compared"]
    outcome.verify_mismatches = stored["verify_mismatches"]
    outcome.seconds = time.monotonic() - began
    return outcome
