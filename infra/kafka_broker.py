"""Start, stop and inspect the launcher's real Apache Kafka broker (KRaft, loopback).

One node by default (``<data_dir>/kafka``); ``nodes=3`` runs a local cluster: three combined
broker+controller nodes from the same jars, each with its own data dir
(``<data_dir>/kafka/node-<id>``), one cluster id (kept in ``<data_dir>/kafka/cluster.json``) and
a static controller quorum of all of them. Node ``i`` listens on the ports
``schemas.settings.launcher_node_ports`` gives (``kafka_port + 2 (i - 1)``). A data dir keeps the
shape it was formatted with: starting it with another node count fails and says which.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from civicpulse.infra import kafka_process as proc
from civicpulse.infra.exceptions import BrokerStartError, PortInUseError
from civicpulse.infra.java import require_java
from civicpulse.infra.kafka_config import (
    BrokerLayout,
    BrokerStatus,
    LauncherConfig,
    NodeStatus,
    broker_properties,
    new_cluster_id,
    quorum_voters,
    render_log4j2,
    render_properties,
)
from civicpulse.infra.kafka_jars import resolve_jars
from civicpulse.schemas.files import private_dir

__all__ = [
    "BrokerStatus",
    "LauncherConfig",
    "NodeStatus",
    "broker_status",
    "broker_version_from_log",
    "formatted_nodes",
    "start_broker",
    "stop_broker",
    "stop_nodes",
    "wait_for_broker",
]

Progress = Callable[[str], None]
_VERSION_LINE = re.compile(r"Kafka version: (?P<version>\S+)")
# The broker JVM and the format tool create files 0600 and directories 0700.
_PRIVATE_UMASK = 0o077

# librdkafka reports every refused connection while the broker boots; route those lines to a
# logger without handlers instead of the user's terminal.
_RDKAFKA_LOG = logging.getLogger("civicpulse.infra.rdkafka")
_RDKAFKA_LOG.addHandler(logging.NullHandler())
_RDKAFKA_LOG.propagate = False


def broker_version_from_log(log_file: Path) -> str | None:
    """The version the broker itself logged at its latest start (``Kafka version: 4.1.2``)."""
    found = _VERSION_LINE.findall(proc.tail(log_file, lines=100_000))
    return found[-1] if found else None


def _admin_answers(bootstrap: str, timeout: float) -> bool:
    from civicpulse.infra.kafka_clients import admin as admin_client

    admin = admin_client(bootstrap, "broker-probe", overrides={"logger": _RDKAFKA_LOG})
    try:
        metadata = admin.list_topics(timeout=timeout)
    except Exception:
        return False
    return bool(metadata.brokers)


def wait_for_broker(
    bootstrap: str,
    timeout: float,
    *,
    process: subprocess.Popen[bytes] | None = None,
    layout: BrokerLayout | None = None,
) -> None:
    """Block until the broker at ``bootstrap`` answers a metadata request.

    Raises BrokerStartError when ``process`` dies first or ``timeout`` seconds pass; the message
    quotes the end of the broker's logs when ``layout`` is given.
    """
    host, _, port_text = bootstrap.split(",")[0].rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise BrokerStartError(
                f"The Kafka broker exited with code {process.returncode} while starting."
                + _log_hint(layout)
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerStartError(
                f"The Kafka broker at {bootstrap} did not answer within {timeout:.0f}s."
                + _log_hint(layout)
            )
        # A cheap TCP probe first: an AdminClient against a closed port only produces noise.
        if proc.port_accepts(int(port_text), host or "127.0.0.1") and _admin_answers(
            bootstrap, min(5.0, max(remaining, 0.5))
        ):
            return
        time.sleep(0.25)


def _log_hint(layout: BrokerLayout | None) -> str:
    if layout is None:
        return ""
    parts = [f"\nSee {layout.server_log} and {layout.console_log}."]
    for path in (layout.console_log, layout.server_log):
        text = proc.tail(path, lines=15)
        if text:
            parts.append(f"--- last lines of {path.name} ---\n{text}")
    return "\n".join(parts)


def _running_pid(layout: BrokerLayout) -> int | None:
    pid = proc.read_pid(layout.pid_file)
    if pid is None:
        return None
    if proc.is_alive(pid) and proc.is_our_broker(pid, layout.server_properties):
        return pid
    return None


def _recorded_version(layout: BrokerLayout) -> str | None:
    try:
        version = json.loads(layout.state_file.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) else None


def broker_status(config: LauncherConfig) -> BrokerStatus:
    """Running or not (every node), with pid (node 1's), bootstrap, version and data dir of the
    launcher's broker, and each node's own status."""
    nodes = []
    version = None
    for node_id in config.node_ids:
        layout = config.node_layout(node_id)
        pid = _running_pid(layout)
        if pid is not None and version is None:
            # The broker's own word first; the launcher's record if the log has rolled over.
            version = broker_version_from_log(layout.server_log) or _recorded_version(layout)
        bootstrap = config.node_bootstrap(node_id)
        nodes.append(
            NodeStatus(node_id, pid is not None, bootstrap, pid, layout.root, layout.server_log)
        )
    return BrokerStatus(
        running=all(node.running for node in nodes),
        bootstrap=config.bootstrap,
        pid=nodes[0].pid,
        version=version,
        data_dir=config.layout.root if config.nodes == 1 else config.root,
        log_file=config.layout.server_log,
        nodes=tuple(nodes),
    )


def external_status(bootstrap: str, timeout: float = 5.0) -> BrokerStatus:
    """Status of a cluster given by KAFKA_BOOTSTRAP: reachable or not, nothing else is known."""
    return BrokerStatus(
        running=_admin_answers(bootstrap, timeout), bootstrap=bootstrap, external=True
    )


def _java_argv(java: Path, libs: Path, layout: BrokerLayout, heap: str, main: str) -> list[str]:
    heap_opts = os.environ.get("KAFKA_HEAP_OPTS")
    # Start small and let G1 grow up to the cap: an idle dev broker then holds ~150 MB, not 512.
    memory = shlex.split(heap_opts) if heap_opts else [f"-Xmx{heap}", "-Xms64m"]
    return [
        str(java),
        *memory,
        # Kafka's own launch scripts use G1 with short pauses; on a 2-core laptop one GC thread
        # pair is plenty and keeps the broker from competing with the stream workers.
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:ParallelGCThreads=2",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={layout.log4j2_properties}",
        f"-Dkafka.logs.dir={layout.logs}",
        "-cp",
        f"{libs}{os.sep}*",
        main,
    ]


def _write_configs(config: LauncherConfig, node_id: int) -> None:
    layout = config.node_layout(node_id)
    private_dir(layout.logs)
    port, controller_port = config.node_ports[node_id - 1]
    properties = broker_properties(
        layout,
        port=port,
        controller_port=controller_port,
        num_partitions=config.num_partitions,
        node_id=node_id,
        voters=quorum_voters([controller for _, controller in config.node_ports]),
        replicas=config.replicas,
    )
    header = "written by civicpulse from its settings; rewritten at every start"
    layout.server_properties.write_text(render_properties(properties, header), encoding="utf-8")
    layout.log4j2_properties.write_text(render_log4j2(layout), encoding="utf-8")


def _format_storage(java: Path, libs: Path, layout: BrokerLayout, cluster_id: str) -> None:
    argv = _java_argv(java, libs, layout, "256m", "kafka.tools.StorageTool")
    argv += ["format", "--cluster-id", cluster_id, "--config", str(layout.server_properties)]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, check=False, umask=_PRIVATE_UMASK
    )
    if done.returncode != 0 or not layout.meta_properties.is_file():
        raise BrokerStartError(
            f"Formatting the KRaft storage in {layout.log_dirs} failed (exit {done.returncode}):\n"
            f"{(done.stdout + done.stderr).strip()[-2000:]}\n"
            f"If that folder holds data of another cluster, remove {layout.root} and retry."
        )


def _check_ports(config: LauncherConfig, node_ids: list[int]) -> None:
    for node_id in node_ids:
        port, controller_port = config.node_ports[node_id - 1]
        for name, taken in (("kafka_port", port), ("kafka_controller_port", controller_port)):
            if not proc.port_is_free(taken):
                raise PortInUseError(
                    f"Port 127.0.0.1:{taken} ({name} of node {node_id}) is taken by another "
                    f"process (see `ss -ltnp | grep :{taken}`). Stop it, or choose other ports "
                    "with CIVICPULSE_KAFKA_PORT / CIVICPULSE_KAFKA_CONTROLLER_PORT, or use a "
                    "running cluster with KAFKA_BOOTSTRAP."
                )


def formatted_nodes(config: LauncherConfig) -> int | None:
    """How many nodes ``config``'s data dir was formatted for (None: not formatted yet)."""
    if BrokerLayout.under(config.data_dir).meta_properties.is_file():
        return 1
    try:
        nodes = json.loads(config.cluster_file.read_text(encoding="utf-8")).get("nodes")
    except (OSError, ValueError):
        return None
    return nodes if isinstance(nodes, int) else None


def _check_shape(config: LauncherConfig) -> None:
    formatted = formatted_nodes(config)
    if formatted is not None and formatted != config.nodes:
        raise BrokerStartError(
            f"The Kafka data in {config.root} belongs to a {formatted}-node "
            f"{'broker' if formatted == 1 else 'cluster'}, not {config.nodes}: start it with "
            f"`civicpulse kafka start --nodes {formatted}` (CIVICPULSE_KAFKA_NODES={formatted}), "
            "or use another CIVICPULSE_DATA_DIR."
        )


def _cluster_id(config: LauncherConfig) -> str:
    """The cluster id every node is formatted with: the recorded one, else a new one."""
    if config.nodes == 1:
        return new_cluster_id()
    try:
        recorded = json.loads(config.cluster_file.read_text(encoding="utf-8")).get("cluster_id")
    except (OSError, ValueError):
        recorded = None
    if isinstance(recorded, str):
        return recorded
    cluster_id = new_cluster_id()
    record = {"nodes": config.nodes, "cluster_id": cluster_id, "bootstrap": config.bootstrap}
    config.cluster_file.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return cluster_id


def _launch(
    java: Path, libs: Path, config: LauncherConfig, node_id: int
) -> subprocess.Popen[bytes]:
    layout = config.node_layout(node_id)
    argv = _java_argv(java, libs, layout, config.heap, "kafka.Kafka")
    argv.append(str(layout.server_properties))
    with layout.console_log.open("wb") as console:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            cwd=layout.root,
            # Its own session: Ctrl-C in the shell that ran `civicpulse kafka start` must not
            # reach the broker, and the broker outlives that shell.
            start_new_session=True,
            # The broker's files (partitions, logs) are the city's presses: 0600/0700.
            umask=_PRIVATE_UMASK,
        )
    layout.pid_file.write_text(f"{process.pid}\n", encoding="ascii")
    state = {
        "pid": process.pid,
        "version": config.kafka_version,
        "bootstrap": config.node_bootstrap(node_id),
    }
    layout.state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return process


def _start_nodes(config: LauncherConfig, down: list[int], say: Progress, timeout: float) -> None:
    for node_id in down:
        config.node_layout(node_id).pid_file.unlink(missing_ok=True)
    _check_ports(config, down)
    say("checking Java")
    java = require_java()
    libs = resolve_jars(config.kafka_version, config.cache_dir, progress=say)
    cluster_id = _cluster_id(config)
    for node_id in down:
        _write_configs(config, node_id)
        if not config.node_layout(node_id).meta_properties.is_file():
            say(f"formatting KRaft storage of node {node_id} (first start of this data dir)")
            _format_storage(java, libs, config.node_layout(node_id), cluster_id)
    # Every node first, then the waits: a node of a cluster answers only once a majority of the
    # controller quorum runs.
    say(f"starting Apache Kafka {config.kafka_version} on {config.bootstrap}")
    started = {node_id: _launch(java, libs, config, node_id) for node_id in down}
    deadline = time.monotonic() + timeout
    try:
        for node_id, process in started.items():
            say(f"waiting for the broker (pid {process.pid}) to answer")
            wait_for_broker(
                config.node_bootstrap(node_id),
                max(1.0, deadline - time.monotonic()),
                process=process,
                layout=config.node_layout(node_id),
            )
    except BrokerStartError:
        for node_id, process in started.items():
            _terminate(process.pid, grace=10.0)
            config.node_layout(node_id).pid_file.unlink(missing_ok=True)
        raise


def start_broker(
    config: LauncherConfig, *, progress: Progress | None = None, timeout: float = 120.0
) -> BrokerStatus:
    """Start every node that does not run yet, and return once each answers.

    First start: checks Java, resolves the jars (mvn, once per version), formats the KRaft
    storage (each node of a cluster with the one cluster id). Every start rewrites the config
    files of the nodes it starts from ``config``; a cluster with one node down (killed) gets
    that node back.
    """
    say = progress or (lambda _message: None)
    private_dir(config.root)
    # Two `civicpulse` processes starting the same data dir at once would race on the pid file.
    with proc.file_lock(config.root / ".start.lock"):
        _check_shape(config)
        down = [n for n in config.node_ids if _running_pid(config.node_layout(n)) is None]
        if not down:
            say(f"broker already running (pid {_running_pid(config.layout)}); waiting for it")
            wait_for_broker(config.bootstrap, timeout, layout=config.layout)
            return broker_status(config)
        _start_nodes(config, down, say, timeout)
    status = broker_status(config)
    return BrokerStatus(**{**status.__dict__, "started_now": True})


def _terminate(pid: int, grace: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not proc.is_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10.0
    while proc.is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _layouts_found(config: LauncherConfig) -> list[BrokerLayout]:
    """The single broker's and every cluster node's files under the data dir, whatever
    ``config.nodes`` says (``stop`` must find what an earlier ``start --nodes`` left)."""
    found = [BrokerLayout.under(config.data_dir)]
    if config.root.is_dir():
        found += [
            BrokerLayout(path) for path in sorted(config.root.glob("node-*")) if path.is_dir()
        ]
    return found


def stop_nodes(config: LauncherConfig, *, timeout: float = 30.0) -> list[int]:
    """Stop every node of the data dir at once: SIGTERM to exactly their pids, SIGKILL after
    ``timeout`` s. Returns the pids stopped (a stale pid file is removed, nobody signalled)."""
    layouts = _layouts_found(config)
    pids = [pid for pid in (_running_pid(layout) for layout in layouts) if pid is not None]
    for pid in pids:
        # All together: a cluster node stopping alone waits on a controller quorum that the
        # nodes stopped before it no longer form.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        _terminate(pid, grace=timeout)
    for layout in layouts:
        layout.pid_file.unlink(missing_ok=True)
        layout.state_file.unlink(missing_ok=True)
    return pids


def stop_broker(config: LauncherConfig, *, timeout: float = 30.0) -> int | None:
    """Stop the launcher's broker (every node of its cluster, ``stop_nodes``).

    Returns the first pid that was stopped, or None when nothing of this data dir was running.
    """
    pids = stop_nodes(config, timeout=timeout)
    return pids[0] if pids else None
