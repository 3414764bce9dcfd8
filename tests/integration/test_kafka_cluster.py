"""``civicpulse kafka start --nodes 3`` as a user runs it, checked with Kafka's own tools.

Three KRaft nodes from the launcher's jars; ``topics create --replication-factor 3``; a stream
worker runs until it is ready (it creates its own topics and Faust its changelogs and leader
topic). Then Kafka's ``TopicCommand`` (the ``kafka-topics.sh --describe`` of a distribution, from
``org.apache.kafka:kafka-tools``) describes every topic: each has 3 replicas and
``min.insync.replicas=2``, the project's, the worker's, Faust's and ``__consumer_offsets``.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from civicpulse.infra.kafka_jars import resolve_jars
from civicpulse.infra.kafka_process import is_alive, port_is_free
from civicpulse.schemas.settings import Settings, launcher_node_ports
from civicpulse.schemas.topics import TOPICS, topic_name
from tests.fixtures.kafka import own_launcher_environment
from tests.integration.stream_worker import start_worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

CIVICPULSE = str(Path(sys.executable).with_name("civicpulse"))
PREFIX = "cl."
_DESCRIBED = re.compile(
    r"^Topic: (?P<topic>\S+)\s+TopicId: \S+\s+PartitionCount: (?P<partitions>\d+)\s+"
    r"ReplicationFactor: (?P<rf>\d+)\s+Configs: (?P<configs>.*)$"
)


def _cluster_ports() -> tuple[int, int]:
    """Base ports whose three node pairs are all free (below the ephemeral range, so that a
    restarted node gets its port back)."""
    rng = random.Random()
    while True:
        port = rng.randrange(20_000, 31_000, 2)
        pairs = launcher_node_ports(port, port + 1, 3)
        if all(port_is_free(p) for pair in pairs for p in pair):
            return port, port + 1


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = own_launcher_environment()
    port, controller = _cluster_ports()
    env |= {
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
        "CIVICPULSE_KAFKA_PORT": str(port),
        "CIVICPULSE_KAFKA_CONTROLLER_PORT": str(controller),
        "CIVICPULSE_TOPIC_PREFIX": PREFIX,
    }
    yield env
    subprocess.run([CIVICPULSE, "kafka", "stop"], env=env, capture_output=True, timeout=120)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIVICPULSE, *args], env=env, capture_output=True, text=True, timeout=300)


def describe_topics(bootstrap: str) -> dict[str, tuple[int, dict[str, str]]]:
    """Topic -> (replication factor, configs) as Kafka's own TopicCommand describes them."""
    settings = Settings()
    tools = resolve_jars(settings.kafka_version, settings.cache_dir, tools=True)
    described = subprocess.run(
        ["java", "-cp", f"{tools}{os.sep}*", "org.apache.kafka.tools.TopicCommand",
         "--bootstrap-server", bootstrap, "--describe"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found: dict[str, tuple[int, dict[str, str]]] = {}
    for line in described.stdout.splitlines():
        match = _DESCRIBED.match(line.strip())
        if match:
            configs = dict(
                item.split("=", 1) for item in match["configs"].split(",") if "=" in item
            )
            found[match["topic"]] = (int(match["rf"]), configs)
    return found


def test_three_nodes_replicate_every_topic_three_times_two_in_sync(
    cluster_env: dict[str, str], tmp_path: Path
) -> None:
    started = _run(cluster_env, "kafka", "start", "--nodes", "3")
    assert started.returncode == 0, started.stderr
    assert "export CIVICPULSE_KAFKA_NODES=3" in started.stdout
    cluster_env["CIVICPULSE_KAFKA_NODES"] = "3"
    bootstrap = Settings(
        kafka_port=int(cluster_env["CIVICPULSE_KAFKA_PORT"]),
        kafka_controller_port=int(cluster_env["CIVICPULSE_KAFKA_CONTROLLER_PORT"]),
        kafka_nodes=3,
    ).bootstrap_servers
    assert f"started on {bootstrap}" in started.stdout

    status = json.loads(_run(cluster_env, "kafka", "status", "--json").stdout)
    assert status["running"] and status["bootstrap"] == bootstrap
    assert [n["node_id"] for n in status["nodes"] if n["running"]] == [1, 2, 3]
    pids = [n["pid"] for n in status["nodes"]]

    too_many = _run(cluster_env, "topics", "create", "--replication-factor", "4")
    assert too_many.returncode == 1
    assert "needs at least 4 brokers" in too_many.stderr and "has 3" in too_many.stderr

    created = _run(cluster_env, "topics", "create", "--replication-factor", "3")
    assert created.returncode == 0, created.stderr

    worker = start_worker(bootstrap, PREFIX, tmp_path / "worker", "--stall-seconds", "60")
    try:
        deadline = time.monotonic() + 120
        while "Worker]: Ready" not in worker.text():
            assert worker.process.poll() is None, worker.text()[-3000:]
            assert time.monotonic() < deadline, worker.text()[-3000:]
            time.sleep(0.5)
    finally:
        worker.stop()

    described = describe_topics(bootstrap)
    ours = {name: found for name, found in described.items() if name.startswith(PREFIX)}
    expected = {topic_name(spec, PREFIX) for spec in TOPICS}
    assert expected <= ours.keys()
    app_id = f"{PREFIX}civicpulse-stream"
    worker_own = {name for name in ours if name.startswith(f"{app_id}-")}
    # the scoring hop, each table's changelog (Faust makes them) and Faust's leader topic
    assert f"{app_id}-scoring" in worker_own
    assert any(name.endswith("-changelog") for name in worker_own)
    assert f"{app_id}-__assignor-__leader" in worker_own
    assert "__consumer_offsets" in described
    for name in [*ours, "__consumer_offsets"]:
        replicas, configs = described[name]
        assert (replicas, configs.get("min.insync.replicas")) == (3, "2"), name

    stopped = _run(cluster_env, "kafka", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped 3 Kafka nodes" in stopped.stdout
    assert not any(is_alive(pid) for pid in pids)
