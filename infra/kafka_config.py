"""Pure parts of the launcher: its config (``LauncherConfig``: ports, nodes, data dir), where
each node's files live, what its config files say, and the status records it reports.

Decisions baked into the rendered ``server.properties`` (one combined broker+controller, KRaft):

- Loopback only: every listener binds and advertises ``127.0.0.1``.
- A *static* controller quorum (``controller.quorum.voters``) rather than ``--standalone``
  dynamic quorum: the dynamic one records the controller's endpoint in the formatted storage, so
  changing ``kafka_controller_port`` later would need a re-format; the static one reads it from
  the config at every start.
- Replication: one node gives every internal topic one replica; a local cluster
  (``civicpulse kafka start --nodes 3``) gives ``__consumer_offsets``, the transaction state and
  every topic created without an explicit factor ``min(3, nodes)`` replicas with
  ``min.insync.replicas`` of ``infra.topics.min_insync_replicas`` (2 of 3). No initial rebalance
  delay (a consumer group of one should not wait 3 s).
- ``auto.create.topics.enable=false``: every topic is created from the catalogue
  (``civicpulse topics create``) and the per-department ``alerts.<department_id>`` topics by
  ``civicpulse.infra.topics.ensure_alert_topics``; a typo in a topic name then fails loudly
  instead of silently creating a topic nobody reads. Faust declares its own internal topics.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from civicpulse.infra.exceptions import InfraError
from civicpulse.infra.topics import min_insync_replicas
from civicpulse.schemas.settings import Settings, launcher_node_ports

__all__ = [
    "DEFAULT_HEAP",
    "BrokerLayout",
    "BrokerStatus",
    "LauncherConfig",
    "NodeStatus",
    "broker_properties",
    "new_cluster_id",
    "quorum_voters",
    "render_log4j2",
    "render_properties",
]

DEFAULT_HEAP = "512m"


@dataclass(frozen=True)
class BrokerLayout:
    """Every file of one launcher broker, under ``<data_dir>/kafka``."""

    root: Path

    @classmethod
    def under(cls, data_dir: Path) -> BrokerLayout:
        return cls(data_dir.resolve() / "kafka")

    @classmethod
    def of_node(cls, data_dir: Path, node_id: int) -> BrokerLayout:
        """Node ``node_id`` of a local cluster of several nodes: ``<data_dir>/kafka/node-<id>``."""
        return cls(data_dir.resolve() / "kafka" / f"node-{node_id}")

    @property
    def server_properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j2_properties(self) -> Path:
        return self.root / "log4j2.properties"

    @property
    def log_dirs(self) -> Path:
        """The broker's data: topic partitions and the KRaft metadata log."""
        return self.root / "data"

    @property
    def meta_properties(self) -> Path:
        """Written by the storage format tool; its presence means 'formatted'."""
        return self.log_dirs / "meta.properties"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def console_log(self) -> Path:
        """The JVM's stdout/stderr (crashes before log4j starts land here)."""
        return self.logs / "console.out"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"

    @property
    def state_file(self) -> Path:
        """JSON written at start: version, bootstrap and pid of the running broker."""
        return self.root / "broker.json"


def new_cluster_id() -> str:
    """A random KRaft cluster id in Kafka's format (URL-safe base64 of 16 bytes, no padding)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        # Kafka's own Uuid.randomUuid() rejects ids starting with '-' (they read like CLI flags).
        if not cluster_id.startswith("-"):
            return cluster_id


def quorum_voters(controller_ports: Sequence[int]) -> str:
    """``controller.quorum.voters`` of nodes 1..n listening on ``controller_ports`` (in order)."""
    return ",".join(f"{n}@127.0.0.1:{port}" for n, port in enumerate(controller_ports, start=1))


def broker_properties(
    layout: BrokerLayout,
    *,
    port: int,
    controller_port: int,
    num_partitions: int = 6,
    node_id: int = 1,
    voters: str | None = None,
    replicas: int = 1,
) -> dict[str, str]:
    """The ``server.properties`` of one broker+controller node on loopback: node 1 of a single
    node quorum by default, or node ``node_id`` of the quorum ``voters`` (``quorum_voters``)
    whose internal and default topics get ``replicas`` replicas."""
    rf, isr = str(replicas), str(min_insync_replicas(replicas))
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters or f"{node_id}@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(layout.log_dirs),
        "num.partitions": str(num_partitions),
        "default.replication.factor": rf,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
    }
    if replicas > 1:
        # The broker-wide default of every topic without its own (Faust's leader topic, topics
        # created with the cluster's defaults); __consumer_offsets takes it too.
        properties["min.insync.replicas"] = isr
    return properties


@dataclass(frozen=True)
class LauncherConfig:
    """What the launcher needs to know; build it from the settings with ``from_settings``."""

    data_dir: Path
    kafka_version: str = "4.1.2"
    port: int = 19092
    controller_port: int = 19093
    cache_dir: Path | None = None
    heap: str = DEFAULT_HEAP
    num_partitions: int = 6
    #: nodes of the local cluster (1: the single broker)
    nodes: int = 1

    def __post_init__(self) -> None:
        ports = [port for pair in self.node_ports for port in pair]
        if self.nodes < 1 or len(set(ports)) != len(ports):
            raise InfraError(
                f"{self.nodes} nodes on ports {self.port} and {self.controller_port} would share "
                "a port (node i uses kafka_port + 2(i-1) and kafka_controller_port + 2(i-1)); "
                "choose CIVICPULSE_KAFKA_PORT and CIVICPULSE_KAFKA_CONTROLLER_PORT further apart."
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> LauncherConfig:
        return cls(
            data_dir=settings.data_dir,
            kafka_version=settings.kafka_version,
            port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
            cache_dir=settings.cache_dir,
            nodes=settings.kafka_nodes,
        )

    @property
    def node_ports(self) -> list[tuple[int, int]]:
        """(broker port, controller port) of node 1, 2, ..."""
        return launcher_node_ports(self.port, self.controller_port, self.nodes)

    @property
    def node_ids(self) -> range:
        return range(1, self.nodes + 1)

    def node_layout(self, node_id: int) -> BrokerLayout:
        if self.nodes == 1:
            return BrokerLayout.under(self.data_dir)
        return BrokerLayout.of_node(self.data_dir, node_id)

    def node_bootstrap(self, node_id: int) -> str:
        return f"127.0.0.1:{self.node_ports[node_id - 1][0]}"

    @property
    def layout(self) -> BrokerLayout:
        """Node 1's files (the single broker's)."""
        return self.node_layout(1)

    @property
    def root(self) -> Path:
        return BrokerLayout.under(self.data_dir).root

    @property
    def cluster_file(self) -> Path:
        """JSON written when a cluster of several nodes is formatted: nodes and cluster id."""
        return self.root / "cluster.json"

    @property
    def replicas(self) -> int:
        """Replicas of the internal and default topics: min(3, nodes)."""
        return min(3, self.nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(self.node_bootstrap(node_id) for node_id in self.node_ids)


@dataclass(frozen=True)
class NodeStatus:
    """One node of the launcher's broker or cluster."""

    node_id: int
    running: bool
    bootstrap: str
    pid: int | None
    data_dir: Path
    log_file: Path


@dataclass(frozen=True)
class BrokerStatus:
    """What ``civicpulse kafka status`` shows."""

    running: bool
    bootstrap: str
    external: bool = False
    pid: int | None = None
    version: str | None = None
    data_dir: Path | None = None
    log_file: Path | None = None
    started_now: bool = False
    #: every node of the launcher's broker or cluster (``running``: all of them run)
    nodes: tuple[NodeStatus, ...] = ()


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def _escape(text: str, *, key: bool = False) -> str:
    # java.util.Properties.load(InputStream) reads ISO-8859-1 and treats = : # ! and spaces in
    # keys, and leading spaces in values, specially: escape those, and everything outside
    # printable ASCII as \uXXXX (UTF-16 units), so a data dir named e.g. "Łódź" survives.
    out: list[str] = []
    for index, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif (key and char in "=:#! ") or (char == " " and index == 0):
            out.append("\\" + char)
        elif not " " <= char <= "~":
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def render_properties(properties: dict[str, str], header: str = "") -> str:
    """A ``java.util.Properties`` file, one ``key=value`` a line, in the given order."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{_escape(k, key=True)}={_escape(v)}" for k, v in properties.items()]
    return "\n".join(lines) + "\n"


def render_log4j2(layout: BrokerLayout, level: str = "INFO") -> str:
    """A log4j2 config writing the broker's log to a rolling file, nothing to the console."""
    log_file = str(layout.server_log).replace("\\", "/").replace("$", "$$")
    properties = {
        "status": "warn",
        "appender.server.type": "RollingFile",
        "appender.server.name": "server",
        "appender.server.fileName": log_file,
        "appender.server.filePattern": f"{log_file}.%i",
        "appender.server.layout.type": "PatternLayout",
        "appender.server.layout.pattern": "[%d] %p %m (%c)%n",
        "appender.server.policies.type": "Policies",
        "appender.server.policies.size.type": "SizeBasedTriggeringPolicy",
        "appender.server.policies.size.size": "20MB",
        "appender.server.strategy.type": "DefaultRolloverStrategy",
        "appender.server.strategy.max": "3",
        "rootLogger.level": level,
        "rootLogger.appenderRef.server.ref": "server",
        # One line per request at INFO would drown everything else.
        "logger.request.name": "kafka.request.logger",
        "logger.request.level": "WARN",
    }
    return render_properties(properties, header="written by civicpulse; rewritten at every start")
