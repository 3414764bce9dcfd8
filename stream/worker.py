"""Start the Faust worker programmatically (``civicpulse stream worker``).

Before Faust starts, the worker creates the topics its processors declare when they are missing
(their ``source`` and ``outputs``: ``stream.framework.registry.worker_topics``), and makes sure
the broker can coordinate consumer groups: on a fresh broker the first JoinGroup can meet
GroupCoordinatorNotAvailable while ``__consumer_offsets`` is being created, and Faust's first
start then ended up with no partitions of its topics. A throwaway confluent-kafka consumer in its
own group joins and gets an assignment first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from civicpulse.infra import kafka_clients
from civicpulse.infra.topics import TopicReport, cluster_replication_factor, ensure_topics
from civicpulse.schemas.topics import topic_name
from civicpulse.stream.app import StreamConfig, create_app, processors
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework import metrics
from civicpulse.stream.framework.processors import Processor
from civicpulse.stream.framework.registry import worker_topics

__all__ = [
    "prepare_worker",
    "run_worker",
    "wait_for_group_coordinator",
    "with_cluster_replication",
]

log = logging.getLogger("civicpulse.stream")


def wait_for_group_coordinator(bootstrap: str, topic: str, timeout: float = 60.0) -> float:
    """Block until a consumer group on ``topic`` gets an assignment; returns the seconds taken."""
    started = time.monotonic()
    assigned: list[Any] = []
    consumer = kafka_clients.consumer(
        bootstrap, f"civicpulse-probe-{uuid.uuid4().hex[:8]}", "group-probe"
    )
    try:
        consumer.subscribe([topic], on_assign=lambda c, parts: assigned.append(parts))
        while not assigned:
            if time.monotonic() - started > timeout:
                raise StreamError(
                    f"the broker at {bootstrap} did not assign {topic} to a consumer group within "
                    f"{timeout:.0f}s; check it with `civicpulse kafka status` and that the topics "
                    "exist (`civicpulse topics create`)"
                )
            consumer.poll(0.2)
    finally:
        consumer.close()
    return time.monotonic() - started


def prepare_worker(config: StreamConfig, running: Sequence[Processor[Any]]) -> TopicReport:
    """Before Faust starts: the data dir, the topics the processors declare (``source`` and
    ``outputs``, plus the catalogue and dead letters) created if missing, the group coordinator."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    topics = worker_topics(running)
    report = ensure_topics(
        config.bootstrap,
        topics.catalogue,
        config.prefix,
        named=topics.internal_partitions(config.app_id),
        replication_factor=config.replication_factor,
    )
    if report.created:
        log.info("created topics %s", ", ".join(report.created))
    # any topic the worker uses will do: the probe only needs its group to get an assignment
    probe = topic_name(topics.catalogue[0], config.prefix)
    waited = wait_for_group_coordinator(config.bootstrap, probe)
    log.info("group coordinator ready after %.1fs", waited)
    return report


def with_cluster_replication(config: StreamConfig) -> StreamConfig:
    """``config`` with a replication factor: its own, else the cluster's default. Faust must
    be given a number for the changelogs and the leader topic it creates (it refuses -1, "the
    cluster's default"); without one they would get a single replica on a cluster of three."""
    if config.replication_factor is not None:
        return config
    factor = cluster_replication_factor(config.bootstrap)
    log.info("topics get the cluster's default replication factor, %d", factor)
    return replace(config, replication_factor=factor)


def run_worker(config: StreamConfig, *, loglevel: str = "info") -> None:
    """Create the topics if needed, wait for the coordinator, run Faust until stopped."""
    from faust import Worker

    processors(config)  # an unknown stage is refused before the broker is asked anything
    config = with_cluster_replication(config)
    prepare_worker(config, processors(config))
    if metrics.serve(config.metrics_port):
        log.info("metrics on http://127.0.0.1:%d/metrics", config.metrics_port)
    app = create_app(config)
    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
