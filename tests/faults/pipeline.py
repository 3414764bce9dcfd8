"""The pipeline a fault run owns: its broker, a stream worker and a sink, each killable.

Everything runs as it does in production, in separate processes: the launcher's Kafka broker
(own data dir and ports, so it can be SIGKILLed and restarted without touching anyone else's
broker), ``civicpulse stream worker`` and ``civicpulse sink`` (its own chDB path). ``supervise``
plays the part of systemd or ``civicpulse up``: a process that exits on its own is started
again, and its exit status is kept (70: an agent raised; 75: a stalled partition; 1: the
sink gave up on ClickHouse or Kafka), so a run can say how often each way out was taken.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from civicpulse.infra.exceptions import PortInUseError
from civicpulse.infra.kafka import LauncherConfig, start_broker, stop_broker
from civicpulse.infra.kafka_broker import broker_status
from civicpulse.infra.kafka_process import is_alive, port_is_free
from civicpulse.schemas.settings import Settings
from tests.integration.stream_worker import CIVICPULSE, WorkerProcess, start_worker

from .plan import Target

__all__ = ["Pipeline", "own_broker_config"]

SINK_GROUP = "civicpulse-sink"


def _port_below_ephemeral(rng: random.Random) -> int:
    """A free port under the kernel's ephemeral range.

    A killed broker must get its port back while clients keep connecting to it; a connect to a
    dead loopback port inside the ephemeral range can take that very port as its own source
    (TCP self-connect). ``free_port()`` hands out ephemeral ports; these are not. (A taken port
    was also seen once below that range: ``_start_broker`` retries, see docs/faults.md.)
    """
    while True:
        port = rng.randrange(20_000, 32_000)
        if port_is_free(port):
            return port


def own_broker_config(data_dir: Path) -> LauncherConfig:
    """A launcher broker of the caller alone: its own data dir and free loopback ports."""
    rng = random.Random()
    port, controller = _port_below_ephemeral(rng), _port_below_ephemeral(rng)
    while controller == port:
        controller = _port_below_ephemeral(rng)
    settings = Settings()
    return LauncherConfig(
        data_dir=data_dir,
        kafka_version=settings.kafka_version,
        port=port,
        controller_port=controller,
        cache_dir=settings.cache_dir,
    )


@dataclass
class Pipeline:
    """Broker + worker + sink of one fault run (topics under ``prefix``, chDB at ``chdb``)."""

    broker: LauncherConfig
    root: Path
    prefix: str = field(default_factory=lambda: f"f{uuid.uuid4().hex[:8]}.")
    worker_args: tuple[str, ...] = ("--drain", "20", "--stall-seconds", "15")
    worker: WorkerProcess | None = None
    sink: subprocess.Popen[bytes] | None = None
    #: targets killed on purpose and not restarted yet (the supervisor leaves them alone)
    down: set[Target] = field(default_factory=set)
    #: (target, exit status) of every exit the run did not cause
    exits: list[tuple[str, int]] = field(default_factory=list)
    kills: dict[str, int] = field(default_factory=lambda: {"worker": 0, "sink": 0, "broker": 0})

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def chdb(self) -> Path:
        return self.root / "chdb"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "CIVICPULSE_TOPIC_PREFIX": self.prefix,
            "CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{self.chdb}",
            "CIVICPULSE_CITY_TIMEZONE": "Europe/Warsaw",
            "CIVICPULSE_CITY_ID": "city",
            "COLUMNS": "200",
        }

    # ---- processes ------------------------------------------------------------------------

    def start_worker(self) -> None:
        folder = self.root / "worker"
        self.worker = start_worker(self.bootstrap, self.prefix, folder, *self.worker_args)

    def start_sink(self, *extra: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"sink-{uuid.uuid4().hex[:6]}.log").open("wb")
        self.sink = subprocess.Popen(
            [str(CIVICPULSE), "sink", "--group", SINK_GROUP, "--batch-rows", "2000",
             "--batch-seconds", "0.5", *extra],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return self.sink

    def start(self, target: Target) -> None:
        if target == "broker":
            self._start_broker()
        elif target == "worker":
            self.start_worker()
        else:
            self.start_sink()

    def _start_broker(self) -> None:
        # The killed JVM's listener can linger for a moment after its pid is gone.
        deadline = time.monotonic() + 60
        while True:
            try:
                start_broker(self.broker, timeout=180)
                return
            except PortInUseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def kill(self, target: Target) -> None:
        """SIGKILL: no shutdown hook, no last commit, no flush."""
        if target == "broker":
            pid = broker_status(self.broker).pid
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 30
                while is_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
        else:
            process = self.worker.process if target == "worker" and self.worker else self.sink
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(30)
        self.kills[target] += 1
        self.down.add(target)

    def restart(self, target: Target) -> None:
        self.down.discard(target)
        self.start(target)

    def supervise(self) -> None:
        """Start again whatever exited on its own, and note how it exited."""
        if "worker" not in self.down and self.worker and self.worker.process.poll() is not None:
            self.exits.append(("worker", self.worker.process.returncode))
            self.start_worker()
        if "sink" not in self.down and self.sink and self.sink.poll() is not None:
            self.exits.append(("sink", self.sink.returncode))
            self.start_sink()
        if "broker" not in self.down and not broker_status(self.broker).running:
            self.exits.append(("broker", -1))
            self._start_broker()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def stop_sink(self) -> None:
        if self.sink is not None and self.sink.poll() is None:
            self.sink.send_signal(signal.SIGTERM)
            try:
                self.sink.wait(60)
            except subprocess.TimeoutExpired:
                self.sink.kill()
                self.sink.wait(30)

    def drain_sink(self, idle: float = 6.0) -> str:
        """Run one more sink until it has been idle ``idle`` s: everything left gets stored."""
        result = subprocess.run(
            [str(CIVICPULSE), "sink", "--group", SINK_GROUP, "--stop-when-idle", str(idle)],
            env=self.env(), capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"the final sink failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def close(self) -> None:
        """Stop everything this run started (used in ``finally``)."""
        self.down.update(("worker", "sink", "broker"))
        if self.worker is not None and self.worker.process.poll() is None:
            self.worker.kill()
        if self.sink is not None and self.sink.poll() is None:
            self.sink.kill()
            self.sink.wait(30)
        stop_broker(self.broker)

    def logs(self, lines: int = 40) -> str:
        """The tails of the worker's and the sinks' logs, for a failure message."""
        out = []
        for log in sorted(self.root.rglob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)
