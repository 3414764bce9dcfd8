"""One fault run, start to finish, and what it found (shared by tests/faults and the benchmark).

1. A broker of the run's own, the topics, the simulated city's catalogue; the worker and sink.
2. The simulator's presses (with poison at seeded random offsets) flow into ``presses.raw``
   while the seeded plan SIGKILLs the worker, the sink and the broker and restarts each.
3. Optionally, terminals keep pressing through a broker outage of ``outage_seconds``.
4. The pipeline drains: every press judged, every window closed, the sink idle.
5. Ground truth against ClickHouse: every event id the simulator and the terminals made is
   stored exactly once (``presses FINAL``: count() = uniqExact(event_id)), with the verdict
   ``civicpulse replay`` gives over the raw topic as stored; each unreadable message of
   ``presses.raw`` has its dead letter; ``verify`` finds the stored scores equal to a
   recomputation from the stored presses.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import TopicPartition

from civicpulse.infra.kafka import start_broker
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    SCORES,
    topic_name,
)
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import SimulatedPress, Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue
from civicpulse.stream.cli.replay import replay
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook
from tests.integration.readback import fresh_consumer

from .feed import PressFeeder, TerminalOutage, buffered_terminals
from .pipeline import Pipeline, own_broker_config
from .plan import kill_plan, poison_payloads, poison_positions

__all__ = ["FaultConfig", "FaultOutcome", "StoredCheck", "run_faults"]

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday, 07:00 in Warsaw


@dataclass(frozen=True)
class FaultConfig:
    rounds: int = 3
    round_seconds: float = 12.0
    rate: float = 150.0  # presses per second of wall time
    seed: int = 1
    poison: int = 12
    outage_seconds: float = 0.0  # 0: no terminal outage phase
    hours: float = 3.0  # simulated event time the presses span


@dataclass(kw_only=True)
class StoredCheck:
    """What every fault run checks at its end: each press stored once, nothing stored that
    nobody made, verdicts as the replay's, verify ok."""

    presses: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: int = 0
    extra: list[str] = field(default_factory=list)
    wrong_verdicts: list[str] = field(default_factory=list)
    verify_ok: bool = False
    verify_compared: int = 0
    verify_mismatches: list[str] = field(default_factory=list)
    exits: list[tuple[str, int]] = field(default_factory=list)
    resent: int = 0
    seconds: float = 0.0

    def problems(self) -> list[str]:
        """Empty when the run lost, doubled and changed nothing."""
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} presses lost, e.g. {self.lost[:3]}")
        if self.doubled:
            found.append(f"{self.doubled} presses stored twice")
        if self.extra:
            found.append(f"{len(self.extra)} stored presses nobody made, e.g. {self.extra[:3]}")
        if self.wrong_verdicts:
            found.append(f"{len(self.wrong_verdicts)} verdicts differ from the replay's: "
                         f"{self.wrong_verdicts[:3]}")  # fmt: skip
        found += self.more_problems()
        if not self.verified():
            found.append(f"verify failed ({self.verify_compared} windows compared): "
                         f"{self.verify_mismatches[:3]}")  # fmt: skip
        return found

    def more_problems(self) -> list[str]:
        """A run's own checks, between the presses' and verify's."""
        return []

    def verified(self) -> bool:
        return self.verify_ok


@dataclass
class FaultOutcome(StoredCheck):
    config: FaultConfig
    dead_missing: int = 0
    dead_expected: int = 0
    kills: dict[str, int] = field(default_factory=dict)
    outage: TerminalOutage | None = None

    def more_problems(self) -> list[str]:
        if self.dead_missing:
            return [f"{self.dead_missing} of {self.dead_expected} dead letters missing"]
        return []

    def summary(self) -> str:
        exits = ", ".join(f"{who} {status}" for who, status in self.exits) or "none"
        text = (
            f"{self.config.rounds} rounds, kills {self.kills}, unplanned exits: {exits}; "
            f"{self.presses} presses made, {self.stored} stored, {len(self.lost)} lost, "
            f"{self.doubled} doubled, {len(self.wrong_verdicts)} verdicts unlike the replay, "
            f"{self.dead_expected - self.dead_missing}/{self.dead_expected} dead letters, "
            f"verify {'ok' if self.verify_ok else 'FAILED'} ({self.verify_compared} windows); "
            f"{self.resent} sends retried; {self.seconds:.0f}s"
        )
        if self.outage is not None:
            text += (
                f"; outage {self.config.outage_seconds:.0f}s: {self.outage.pressed_while_down} "
                f"presses buffered while down, delivered {self.outage.delivered_after:.1f}s "
                "after the broker returned"
            )
        return text


def _raw_in_order(bootstrap: str, topic: str) -> list[tuple[int, int, bytes]]:
    """(partition, offset, value) of every message, each partition in offset order."""
    consumer = fresh_consumer(bootstrap, "fault-raw")
    out: list[tuple[int, int, bytes]] = []
    try:
        for p in sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            consumer.assign([TopicPartition(topic, p, low)])
            while low < high:
                message = consumer.poll(1.0)
                if message is not None and message.error() is None:
                    out.append((p, message.offset(), message.value() or b""))
                    low = message.offset() + 1
    finally:
        consumer.close()
    return out


def expected_outcome(
    raw: list[tuple[int, int, bytes]], sim: Simulation
) -> tuple[dict[str, str], set[tuple[int, int]]]:
    """The replay over the raw topic: each event's first verdict, and the dead-letter offsets."""
    out = io.BytesIO()
    judge = Judge(sim.catalogue(), RuleBook.defaults(), MemoryStore())
    replay(io.BytesIO(b"\n".join(v.replace(b"\n", b" ") for _, _, v in raw) + b"\n"), judge, out)
    first: dict[str, str] = {}
    dead: set[tuple[int, int]] = set()
    for (partition, offset, _), line in zip(raw, out.getvalue().splitlines(), strict=True):
        record = orjson.loads(line)
        if record["verdict"] == "deadletter":
            dead.add((partition, offset))
        else:
            first.setdefault(record["event_id"], record["verdict"])
    return first, dead


def _wait_for_outputs(
    pipeline: Pipeline, ids: set[str], dead: set[tuple[int, int]], timeout: float
) -> tuple[set[str], set[tuple[int, int]]]:
    """Until every press has a verdict out and every unreadable raw message its dead letter;
    returns what is still missing after ``timeout`` s (nothing, when all went well)."""
    t = {s.name: topic_name(s, pipeline.prefix) for s in (PRESSES_ACCEPTED, PRESSES_REJECTED,
                                                           DEADLETTER, PRESSES_RAW)}  # fmt: skip
    consumer = fresh_consumer(pipeline.bootstrap, "fault-outputs")
    consumer.subscribe([t["presses.accepted"], t["presses.rejected"], t["deadletter"]])
    judged: set[str] = set()
    letters: set[tuple[int, int]] = set()
    deadline = time.monotonic() + timeout
    try:
        while not (ids <= judged and dead <= letters):
            if time.monotonic() > deadline:
                break
            pipeline.supervise()
            for message in consumer.consume(1000, 0.5):
                if message.error() is not None:
                    continue
                value: dict[str, Any] = orjson.loads(message.value())
                if message.topic() == t["deadletter"]:
                    if value.get("source_topic") == t["presses.raw"]:
                        letters.add((value["source_partition"], value["source_offset"]))
                else:
                    judged.add(value["event_id"])
    finally:
        consumer.close()
    return ids - judged, dead - letters


def _settle_scores(pipeline: Pipeline, quiet: float, timeout: float) -> None:
    """Until ``scores`` got nothing new for ``quiet`` s (the drained worker closed every window)."""
    consumer = fresh_consumer(pipeline.bootstrap, "fault-scores")
    consumer.subscribe([topic_name(SCORES, pipeline.prefix)])
    last, deadline = time.monotonic(), time.monotonic() + timeout
    try:
        while time.monotonic() - last < quiet:
            if time.monotonic() > deadline:
                raise AssertionError(f"scores still moving after {timeout:.0f}s")
            pipeline.supervise()
            if any(m.error() is None for m in consumer.consume(1000, 0.5)):
                last = time.monotonic()
    finally:
        consumer.close()


def _probe(pipeline: Pipeline) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.probe", str(pipeline.chdb)],
        capture_output=True, timeout=300, check=False, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"probe failed: {result.stderr.decode(errors='replace')}")
    found: dict[str, Any] = orjson.loads(result.stdout)
    return found


def _records(presses: list[SimulatedPress], config: FaultConfig) -> list[tuple[bytes, bytes]]:
    records = [(p.key, p.line) for p in presses]
    payloads = poison_payloads()
    for n, at in enumerate(poison_positions(config.seed, len(records), config.poison)):
        records.insert(at + n, (records[at + n][0], payloads[n % len(payloads)]))
    return records


def _kill_rounds(pipeline: Pipeline, feeder: PressFeeder, config: FaultConfig) -> None:
    begin = time.monotonic()
    for action in kill_plan(config.seed, config.rounds, config.round_seconds):
        while time.monotonic() - begin < action.at:
            pipeline.supervise()
            time.sleep(0.1)
        if action.verb == "kill":
            pipeline.kill(action.target)
        else:
            pipeline.restart(action.target)
    pipeline.supervise()


def run_faults(config: FaultConfig, root: Path) -> FaultOutcome:
    """Run the whole fault scenario in ``root`` (see module doc); never raises on a finding."""
    began = time.monotonic()
    outcome = FaultOutcome(config)
    pipeline = Pipeline(own_broker_config(root / "kafka"), root)
    total = config.rounds * config.round_seconds * config.rate
    sim = Simulation(PRESETS["demo"], START, timedelta(hours=config.hours),
                     total / (config.hours * 3600), config.seed)  # fmt: skip
    presses = list(sim.presses())
    records = _records(presses, config)
    made = {p.event_id for p in presses if p.event_id}
    try:
        start_broker(pipeline.broker, timeout=180)
        create_topics(pipeline.bootstrap, pipeline.prefix)
        catalogue = sim.catalogue()
        publish_catalogue(pipeline.bootstrap, topic_name(CATALOGUE_DEVICES, pipeline.prefix),
                          catalogue)  # fmt: skip
        pipeline.start_worker()
        pipeline.start_sink()
        assert pipeline.worker is not None
        deadline = time.monotonic() + 120
        while "Worker]: Ready" not in pipeline.worker.text():
            assert time.monotonic() < deadline, pipeline.logs()
            time.sleep(0.2)
        raw_topic = topic_name(PRESSES_RAW, pipeline.prefix)
        feeder = PressFeeder(pipeline.bootstrap, raw_topic, records, config.rate)
        feeder.start()
        _kill_rounds(pipeline, feeder, config)
        feeder.wait(600)
        outcome.resent = feeder.resent
        if config.outage_seconds > 0:
            outcome.outage = _outage(pipeline, sim, config, root)
            made |= set(outcome.outage.event_ids)
        raw = _raw_in_order(pipeline.bootstrap, raw_topic)
        first, dead = expected_outcome(raw, sim)
        _, missing_dead = _wait_for_outputs(pipeline, made, dead, timeout=300)
        outcome.dead_missing = len(missing_dead)
        _settle_scores(pipeline, quiet=26, timeout=600)
        pipeline.stop_worker()
        pipeline.stop_sink()
        pipeline.drain_sink()
        stored = _probe(pipeline)
    finally:
        outcome.kills, outcome.exits = dict(pipeline.kills), list(pipeline.exits)
        pipeline.close()
    verdicts: dict[str, str] = stored["verdicts"]
    outcome.presses, outcome.stored = len(made), len(verdicts)
    outcome.lost = sorted(made - verdicts.keys())
    outcome.extra = sorted(verdicts.keys() - made)
    outcome.doubled = stored["final_rows"] - stored["final_distinct"]
    outcome.wrong_verdicts = [
        f"{i}: stored {v}, replay {first.get(i)}" for i, v in verdicts.items() if first.get(i) != v
    ]
    outcome.dead_expected = len(dead)
    outcome.verify_ok = stored["verify_ok"]
    outcome.verify_compared = stored["verify_compared"]
    outcome.verify_mismatches = stored["verify_mismatches"]
    outcome.seconds = time.monotonic() - began
    return outcome


def _outage(pipeline: Pipeline, sim: Simulation, config: FaultConfig, root: Path) -> TerminalOutage:
    """Four terminals press through a broker outage; their clock runs on after the simulation."""
    devices = [d.device_id for d in sim.catalogue().devices if d.channel == "terminal"][:4]
    origin, wall = START + timedelta(hours=config.hours), time.time()

    def clock() -> datetime:
        return origin + timedelta(seconds=time.time() - wall)

    def outage() -> None:
        pipeline.kill("broker")
        time.sleep(config.outage_seconds)
        pipeline.restart("broker")

    settings = Settings(kafka_bootstrap=pipeline.bootstrap, topic_prefix=pipeline.prefix)
    (root / "terminals").mkdir(exist_ok=True)
    return buffered_terminals(settings, devices, root / "terminals", clock, outage)
