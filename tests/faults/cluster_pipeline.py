"""The pipeline a cluster fault run owns: three Kafka nodes, several workers, the sink, the API.

``ClusterPipeline`` extends the single-broker ``Pipeline`` (same sink, same env, same drain)
with what a city past one machine runs: the launcher's local cluster of three nodes (its own
data dir and ports), two or three ``civicpulse stream worker`` processes in one consumer group
(each with its own data dir), and ``civicpulse api serve`` taking the presses (own data dir and
chDB: only its ingest is used). Its faults are the ones of ``plan.cluster_plan``: SIGKILL the node
leading the busiest ``presses.raw`` partition, SIGKILL a worker, add one, stop one with SIGTERM.
``supervise`` restarts whatever exited on its own, and notes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from confluent_kafka import TopicPartition

from civicpulse.api.ingest.keys import DeviceKeys
from civicpulse.infra.exceptions import InfraError
from civicpulse.infra.kafka import LauncherConfig
from civicpulse.infra.kafka_broker import broker_status
from civicpulse.infra.kafka_process import free_port, is_alive, port_is_free
from civicpulse.schemas.topics import PRESSES_RAW, topic_name
from tests.integration.readback import fresh_consumer
from tests.integration.stream_worker import CIVICPULSE, WorkerProcess, start_worker

from .pipeline import Pipeline, own_broker_config

__all__ = ["ClusterPipeline", "own_cluster_config"]


def own_cluster_config(data_dir: Path, nodes: int = 3) -> LauncherConfig:
    """A local cluster of the caller alone: its own data dir, free ports below the ephemeral
    range for every node (a killed node must get its ports back), a smaller heap per node."""
    while True:
        try:
            config = replace(own_broker_config(data_dir), nodes=nodes, heap="384m")
        except InfraError:  # two of the nodes' ports would coincide: draw again
            continue
        if all(port_is_free(p) for pair in config.node_ports for p in pair):
            return config


@dataclass
class ClusterPipeline(Pipeline):
    """Three nodes + workers + sink + API of one cluster fault run (see module doc)."""

    workers: list[WorkerProcess] = field(default_factory=list)
    #: workers SIGKILLed on purpose and not restarted yet (their data dirs)
    killed_workers: list[Path] = field(default_factory=list)
    #: nodes SIGKILLed on purpose and not restarted yet
    down_nodes: set[int] = field(default_factory=set)
    api: subprocess.Popen[bytes] | None = None
    api_port: int = 0
    faults: dict[str, int] = field(
        default_factory=lambda: {"kill-leader": 0, "kill-worker": 0, "add-worker": 0,
                                 "stop-worker": 0}
    )  # fmt: skip
    _next_worker: int = 0

    # ---- workers ------------------------------------------------------------------------

    def start_worker(self, folder: Path | None = None) -> None:
        if folder is None:
            self._next_worker += 1
            folder = self.root / f"worker-{self._next_worker}"
        self.workers.append(start_worker(self.bootstrap, self.prefix, folder, *self.worker_args))

    def kill_worker(self, pick: int) -> None:
        """SIGKILL one running worker (no leave-group: the group notices at the session
        timeout); it comes back with ``restart_worker``."""
        victim = self.workers.pop(pick % len(self.workers))
        victim.kill()
        self.killed_workers.append(victim.log.parent)
        self.faults["kill-worker"] += 1

    def restart_worker(self) -> None:
        if self.killed_workers:
            self.start_worker(self.killed_workers.pop(0))

    def add_worker(self) -> None:
        self.start_worker()
        self.faults["add-worker"] += 1

    def stop_worker_gracefully(self, pick: int) -> None:
        """SIGTERM one worker (it leaves the group and commits); it stays stopped."""
        self.workers.pop(pick % len(self.workers)).stop()
        self.faults["stop-worker"] += 1

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while not all("Worker]: Ready" in w.text() for w in self.workers):
            if time.monotonic() > deadline:
                raise AssertionError(f"workers not ready after {timeout:.0f}s\n{self.logs()}")
            time.sleep(0.3)

    # ---- nodes --------------------------------------------------------------------------

    def busiest_leader(self) -> int:
        """The node leading the ``presses.raw`` partition with the most messages."""
        topic = topic_name(PRESSES_RAW, self.prefix)
        consumer = fresh_consumer(self.bootstrap, "fault-leader")
        try:
            partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
            sizes = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in partitions
            }
            busiest = max(sorted(sizes), key=lambda p: sizes[p])
            return int(partitions[busiest].leader)
        finally:
            consumer.close()

    def kill_leader(self) -> int:
        """SIGKILL the node leading the busiest partition; returns its node id."""
        node = self.busiest_leader()
        pid = broker_status(self.broker).nodes[node - 1].pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while is_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.down_nodes.add(node)
        self.faults["kill-leader"] += 1
        self.kills["broker"] += 1
        return node

    def restart_nodes(self) -> None:
        self.down_nodes.clear()
        self._start_broker()

    # ---- the API --------------------------------------------------------------------------

    def start_api(self, devices: list[str]) -> dict[str, str]:
        """``civicpulse api serve`` with a key for each of ``devices``; returns the keys."""
        folder = self.root / "api"
        folder.mkdir(parents=True, exist_ok=True)
        store = DeviceKeys.in_data_dir(folder)
        keys = {device: store.add(device) for device in devices}
        self.api_port = free_port()
        env = {
            **self.env(),
            "CIVICPULSE_DATA_DIR": str(folder),
            "CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{folder / 'chdb'}",
            "CIVICPULSE_SQL_PORT": str(free_port()),
        }
        # The API owns a store of its own (embedded chDB: one process a path); only its ingest
        # is used here, but it serves the SQL endpoint on that store, so it is migrated.
        subprocess.run([str(CIVICPULSE), "db", "migrate"], env=env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        log = (self.root / f"api-{uuid.uuid4().hex[:6]}.log").open("wb")
        self.api = subprocess.Popen(
            [str(CIVICPULSE), "api", "serve", "--port", str(self.api_port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.api_url}/readyz", timeout=2).status_code == 200:
                    return keys
            except httpx.HTTPError:
                pass
            if self.api.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not get ready\n{self.logs()}")
            time.sleep(0.3)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # ---- supervision --------------------------------------------------------------------

    def supervise(self) -> None:
        """Start again whatever exited on its own (a worker, the sink, a node), noting it."""
        for worker in list(self.workers):
            if worker.process.poll() is not None:
                self.exits.append(("worker", worker.process.returncode))
                self.workers.remove(worker)
                self.start_worker(worker.log.parent)
        if "sink" not in self.down and self.sink and self.sink.poll() is not None:
            self.exits.append(("sink", self.sink.returncode))
            self.start_sink()
        if "broker" in self.down:
            return
        down = [n for n in broker_status(self.broker).nodes if not n.running]
        if any(node.node_id not in self.down_nodes for node in down):
            self.exits.append(("broker", -1))
            self._start_broker()

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.kill()
        if self.api is not None and self.api.poll() is None:
            self.api.kill()
            self.api.wait(30)
        super().close()
