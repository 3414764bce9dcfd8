"""Start, stop and inspect the launcher's real Apache Kafka broker (KRaft, loopback, one node)."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from civicpulse.infra import kafka_process as proc
from civicpulse.infra.exceptions import BrokerStartError, PortInUseError
from civicpulse.infra.java import require_java
from civicpulse.infra.kafka_config import (
    DEFAULT_HEAP,
    BrokerLayout,
    broker_properties,
    new_cluster_id,
    render_log4j2,
    render_properties,
)
from civicpulse.infra.kafka_jars import resolve_jars
from civicpulse.schemas.files import private_dir

if TYPE_CHECKING:
    from civicpulse.schemas.settings import Settings

__all__ = [
    "BrokerStatus",
    "LauncherConfig",
    "broker_status",
    "broker_version_from_log",
    "start_broker",
    "stop_broker",
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

    @classmethod
    def from_settings(cls, settings: Settings) -> LauncherConfig:
        return cls(
            data_dir=settings.data_dir,
            kafka_version=settings.kafka_version,
            port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
            cache_dir=settings.cache_dir,
        )

    @property
    def layout(self) -> BrokerLayout:
        return BrokerLayout.under(self.data_dir)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


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
    """Running or not, with pid, bootstrap, version and data dir of the launcher's broker."""
    layout = config.layout
    pid = _running_pid(layout)
    version = None
    if pid is not None:
        # The broker's own word first; the launcher's record if the log has rolled over since.
        version = broker_version_from_log(layout.server_log) or _recorded_version(layout)
    return BrokerStatus(
        running=pid is not None,
        bootstrap=config.bootstrap,
        pid=pid,
        version=version,
        data_dir=layout.root,
        log_file=layout.server_log,
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


def _write_configs(config: LauncherConfig) -> None:
    layout = config.layout
    private_dir(layout.logs)
    properties = broker_properties(
        layout,
        port=config.port,
        controller_port=config.controller_port,
        num_partitions=config.num_partitions,
    )
    header = "written by civicpulse from its settings; rewritten at every start"
    layout.server_properties.write_text(render_properties(properties, header), encoding="utf-8")
    layout.log4j2_properties.write_text(render_log4j2(layout), encoding="utf-8")


def _format_storage(java: Path, libs: Path, config: LauncherConfig) -> None:
    layout = config.layout
    argv = _java_argv(java, libs, layout, "256m", "kafka.tools.StorageTool")
    argv += ["format", "--cluster-id", new_cluster_id(), "--config", str(layout.server_properties)]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, check=False, umask=_PRIVATE_UMASK
    )
    if done.returncode != 0 or not layout.meta_properties.is_file():
        raise BrokerStartError(
            f"Formatting the KRaft storage in {layout.log_dirs} failed (exit {done.returncode}):\n"
            f"{(done.stdout + done.stderr).strip()[-2000:]}\n"
            f"If that folder holds data of another cluster, remove {layout.root} and retry."
        )


def _check_ports(config: LauncherConfig) -> None:
    for name, port in (
        ("kafka_port", config.port),
        ("kafka_controller_port", config.controller_port),
    ):
        if not proc.port_is_free(port):
            raise PortInUseError(
                f"Port 127.0.0.1:{port} ({name}) is taken by another process (see `ss -ltnp | grep "
                f":{port}`). Stop it, or choose other ports with CIVICPULSE_KAFKA_PORT / "
                "CIVICPULSE_KAFKA_CONTROLLER_PORT, or use a running cluster with KAFKA_BOOTSTRAP."
            )


def start_broker(
    config: LauncherConfig, *, progress: Progress | None = None, timeout: float = 120.0
) -> BrokerStatus:
    """Start the broker unless it already runs, and return once it answers.

    First start: checks Java, resolves the jars (mvn, once per version), formats the KRaft
    storage. Every start rewrites the config files from ``config``.
    """
    say = progress or (lambda _message: None)
    layout = config.layout
    private_dir(layout.root)
    # Two `civicpulse` processes starting the same data dir at once would race on the pid file.
    with proc.file_lock(layout.root / ".start.lock"):
        pid = _running_pid(layout)
        if pid is not None:
            say(f"broker already running (pid {pid}); waiting until it answers")
            wait_for_broker(config.bootstrap, timeout, layout=layout)
            return broker_status(config)
        layout.pid_file.unlink(missing_ok=True)
        _check_ports(config)
        say("checking Java")
        java = require_java()
        libs = resolve_jars(config.kafka_version, config.cache_dir, progress=say)
        _write_configs(config)
        if not layout.meta_properties.is_file():
            say("formatting KRaft storage (first start of this data dir)")
            _format_storage(java, libs, config)
        say(f"starting Apache Kafka {config.kafka_version} on {config.bootstrap}")
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
        state = {"pid": process.pid, "version": config.kafka_version, "bootstrap": config.bootstrap}
        layout.state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        say(f"waiting for the broker (pid {process.pid}) to answer")
        try:
            wait_for_broker(config.bootstrap, timeout, process=process, layout=layout)
        except BrokerStartError:
            _terminate(process.pid, grace=10.0)
            layout.pid_file.unlink(missing_ok=True)
            raise
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


def stop_broker(config: LauncherConfig, *, timeout: float = 30.0) -> int | None:
    """Stop the launcher's broker: SIGTERM to exactly its pid, SIGKILL after ``timeout`` seconds.

    Returns the pid that was stopped, or None when no broker of this data dir was running (a
    stale pid file, e.g. after a reboot, is removed without signalling anyone).
    """
    layout = config.layout
    pid = _running_pid(layout)
    if pid is not None:
        _terminate(pid, grace=timeout)
    layout.pid_file.unlink(missing_ok=True)
    layout.state_file.unlink(missing_ok=True)
    return pid
