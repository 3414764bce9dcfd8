"""Pure parts of the launcher: where the broker's files live and what its config files say.

Decisions baked into the rendered ``server.properties`` (one combined broker+controller, KRaft):

- Loopback only: every listener binds and advertises ``127.0.0.1``.
- A *static* controller quorum (``controller.quorum.voters``) rather than ``--standalone``
  dynamic quorum: the dynamic one records the controller's endpoint in the formatted storage, so
  changing ``kafka_controller_port`` later would need a re-format; the static one reads it from
  the config at every start.
- Replication factor 1 for every internal topic (one broker) and no initial rebalance delay (a
  consumer group of one should not wait 3 s).
- ``auto.create.topics.enable=false``: every topic is created from the catalogue
  (``civicpulse topics create``) and the per-department ``alerts.<department_id>`` topics by
  ``civicpulse.infra.topics.ensure_alert_topics``; a typo in a topic name then fails loudly
  instead of silently creating a topic nobody reads. Faust declares its own internal topics.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_HEAP",
    "BrokerLayout",
    "broker_properties",
    "new_cluster_id",
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


def broker_properties(
    layout: BrokerLayout, *, port: int, controller_port: int, num_partitions: int = 6
) -> dict[str, str]:
    """The ``server.properties`` of a single-node broker+controller on loopback."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(layout.log_dirs),
        "num.partitions": str(num_partitions),
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
    }


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
