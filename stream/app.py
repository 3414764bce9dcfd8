"""The Faust application: the configured stages' processors on one runner (wiring only).

The processors (of the stages registered in ``stream.stages.builtin``: anti-spam, scoring hop,
scores + alerts; ``reasons``) say what they read, write and keep; ``runner.Runner`` runs each as
an agent (offsets, order, flushes, failures); this module reads the catalogue before any of them
starts, checks the Faust version (``faust_repairs``) and adds the stall watchdog over every
source topic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from civicpulse.schemas.topics import CATALOGUE_DEVICES, PRESSES_RAW, TopicSpec, topic_name
from civicpulse.stream.catalogue.topic import CatalogueReader
from civicpulse.stream.framework.failfast import FailureLedger
from civicpulse.stream.framework.faust_repairs import REBALANCE_SETTINGS, check_faust
from civicpulse.stream.framework.outputs import Outputs
from civicpulse.stream.framework.processors import Processor
from civicpulse.stream.framework.registry import worker_topics
from civicpulse.stream.framework.runner import Runner
from civicpulse.stream.framework.watchdog import GroupOffsets, install_stall_watchdog
from civicpulse.stream.stages.alerts.state_machine import AlertBook
from civicpulse.stream.stages.antispam.processor import RAW_PARTITION_HEADER, judged_bytes
from civicpulse.stream.stages.antispam.rules import RuleBook
from civicpulse.stream.stages.builtin import BUILT_IN

__all__ = [
    "RAW_PARTITION_HEADER",
    "STAGES",
    "TRANSPORT_SCHEMES",
    "StreamConfig",
    "app_settings",
    "create_app",
    "judged_bytes",
    "processors",
    "stage_topics",
]

log = logging.getLogger("civicpulse.stream")


#: the stages a worker can run (``--stages``), registered in ``stream.stages.builtin``
STAGES = frozenset(BUILT_IN.names())
DEFAULT_STAGES = BUILT_IN.defaults()
#: Faust's URL scheme of each transport driver
TRANSPORT_SCHEMES = {"aiokafka": "kafka", "confluent": "confluent"}


@dataclass(frozen=True)
class StreamConfig:
    """Everything the worker needs; built from Settings by the CLI."""

    bootstrap: str
    prefix: str = ""
    data_dir: Path = Path(".civicpulse/stream")
    rules: RuleBook = field(default_factory=RuleBook.defaults)
    alerts: AlertBook = field(default_factory=AlertBook)
    city_id: str = "city"
    timezone: str = "Europe/Warsaw"
    grace_seconds: float = 120.0
    batch_size: int = 2000
    batch_within: float = 0.2
    tick_seconds: float = 5.0
    #: seconds without a press after which the scores stage takes the stream as drained and
    #: closes every window holding a press (the hour and day windows of a replayed backlog)
    drain_seconds: float = 30.0
    #: a worker that dies without leaving the group holds its partitions this long (Faust's
    #: default of 60 s would stall a restarted worker for a minute)
    session_timeout: float = 10.0
    #: seconds a held source partition may have a backlog without committed progress
    #: before the watchdog seeks it back to that offset, and again before it exits the worker
    stall_seconds: float = 30.0
    #: which stages run: "antispam", "scores", "reasons" (the benchmark runs anti-spam alone)
    stages: frozenset[str] = DEFAULT_STAGES
    web_port: int | None = None
    #: Prometheus /metrics on 127.0.0.1:metrics_port (0: off; ``stream.framework.metrics``)
    metrics_port: int = 0
    #: Faust's consumer/producer driver: "aiokafka" (``kafka://``, the tested one) or
    #: "confluent" (``confluent://``, measured in docs/benchmarks.md)
    transport: Literal["aiokafka", "confluent"] = "aiokafka"
    #: the consumer group (and Faust app id) is ``<prefix>civicpulse-<group>``: a worker running
    #: an added processor on a topic the default stages read needs a group of its own
    #: (docs/processors.md, "One worker or two")
    group: str = "stream"
    #: replicas of every topic the worker creates (its own topics, Faust's table changelogs and
    #: leader topic, alert topics), each with min.insync.replicas to match; from the one setting
    #: CIVICPULSE_TOPIC_REPLICATION_FACTOR. None: the cluster's ``default.replication.factor``,
    #: which ``stream.worker.run_worker`` reads before Faust starts (Faust needs a number).
    replication_factor: int | None = None

    @property
    def app_id(self) -> str:
        return f"{self.prefix}civicpulse-{self.group}"

    def topic(self, logical: Any) -> str:
        return topic_name(logical, self.prefix)


def app_settings(config: StreamConfig) -> dict[str, Any]:
    """The Faust settings of the worker (also used by the benchmark's no-op ceiling app)."""
    return {
        "broker": f"{TRANSPORT_SCHEMES[config.transport]}://{config.bootstrap}",
        "store": "memory://",
        "datadir": str(config.data_dir),
        "web_enabled": config.web_port is not None,
        "web_bind": "127.0.0.1",
        "web_port": config.web_port or 6066,
        "topic_partitions": PRESSES_RAW.partitions,
        # Faust creates its changelogs and leader topic with it (it takes no -1 for "the
        # cluster's default": run_worker resolves None to the cluster's number first).
        "topic_replication_factor": config.replication_factor or 1,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": 1.0,
        "stream_buffer_maxsize": max(4096, 2 * config.batch_size),
        "broker_max_poll_records": config.batch_size,
        "consumer_max_fetch_size": 4 * 1024**2,
        "producer_acks": -1,
        "broker_session_timeout": config.session_timeout,
        "broker_heartbeat_interval": min(3.0, config.session_timeout / 3),
        # Faust's wait for delivered messages on a rebalance never ends when a batch is
        # filling: off, the runner waits for its batch itself (faust_repairs module doc)
        **REBALANCE_SETTINGS,
        # On a cluster a killed node's partitions get new leaders; aiokafka kept fetching a
        # table's changelog from the dead one (recovery waited 60 s, docs/faults.md "Cluster
        # rounds"): refresh the metadata every few seconds, not every 5 minutes, and drop a
        # member that does not rejoin a rebalance within 20 s instead of 60 s.
        "consumer_metadata_max_age_ms": 5_000,
        "producer_metadata_max_age_ms": 5_000,
        "broker_rebalance_timeout": 20.0,
    }


def processors(config: StreamConfig) -> list[Processor[Any]]:
    """The processors of the configured stages, in the order the runner declares them (an
    unknown stage is a StreamError naming the registered ones)."""
    return BUILT_IN.processors(config)


def stage_topics() -> tuple[TopicSpec, ...]:
    """The catalogue topics the processors of every registered stage read or write, with the
    framework's own (``civicpulse topics create`` creates them; internal topics are named after
    a worker's group, so each worker creates its own)."""
    return worker_topics(processors(StreamConfig(bootstrap="", stages=STAGES))).catalogue


def create_app(config: StreamConfig, extra: Iterable[Processor[Any]] = ()) -> Any:
    """The Faust app running the configured stages' processors (and ``extra`` ones)."""
    import faust

    check_faust()
    app = faust.App(config.app_id, **app_settings(config))
    found: dict[str, CatalogueReader] = {}
    ready = asyncio.Event()

    async def start_catalogue() -> None:
        # Read to the end before any processor starts: they wait on ``ready``.
        reader = CatalogueReader(config.bootstrap, config.topic(CATALOGUE_DEVICES))
        await asyncio.get_running_loop().run_in_executor(None, reader.start)
        found["reader"] = reader
        ready.set()

    outputs: list[Outputs] = []

    def producer() -> Outputs:
        if not outputs:
            outputs.append(Outputs(config.bootstrap))
        return outputs[0]

    group_offsets = GroupOffsets(config.bootstrap, config.app_id)
    runner = Runner(
        app,
        config=config,
        outputs=producer,
        catalogue=lambda: found["reader"].index(),
        ready=ready,
        ledger=FailureLedger(config.data_dir / "failures.json"),
        offsets=group_offsets,
    )
    app.task(start_catalogue)
    for processor in [*processors(config), *extra]:
        runner.add(processor)
    install_stall_watchdog(app, runner.sources, offsets=group_offsets, after=config.stall_seconds)
    return app
