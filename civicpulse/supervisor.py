"""Keep a child process running: ``civicpulse up`` restarts its stream worker when it exits.

A worker exits on purpose when it cannot make progress (the stall watchdog, status 75) and may
die of anything else; either way its outputs were flushed before its inputs were acknowledged,
so a restart continues from the committed offsets with nothing lost. Restarts back off
(``first_delay`` doubling up to ``max_delay``) so that a worker that cannot start does not spin,
and the delay resets once a child has run for ``healthy_after`` seconds.

The child dies with its supervisor, however the supervisor ends: on Linux the kernel sends it
SIGTERM when the supervising process dies (``prctl(PR_SET_PDEATHSIG)``, set in the child before
``exec``), so a SIGKILL of ``civicpulse up`` cannot leave a worker running under init that the
next ``up`` would join to the group as a second worker.

Every restart counts in ``civicpulse_supervisor_restarts_total{child}`` (Prometheus, the
supervising process's registry: in ``up`` the API's ``/metrics``), the alert rule "worker
restarting" reads it (``infra/prometheus/alerts.yml``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import Counter

__all__ = ["Supervisor", "die_with_parent"]

_PR_SET_PDEATHSIG = 1

RESTARTS = Counter(
    "civicpulse_supervisor_restarts",
    "Times a supervised child exited by itself and was restarted, by child",
    ["child"],
)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child asks the kernel for SIGTERM when its parent thread dies.

    Linux only (elsewhere none; ``stop`` still terminates the child on a clean exit). libc is
    resolved here, in the parent, so the forked child only makes the one system call. The
    kernel signals when the *thread* that forked the child ends: the supervisor's thread
    outlives its child (it returns only after ``wait``). The parent may have died between
    ``fork`` and the call; then the child exits at once.
    """
    prctl = _load_prctl()

    def preexec() -> None:
        if prctl is None:
            return
        if prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0 or (
            os.getppid() != parent_pid
        ):
            os._exit(70)

    return preexec


class Supervisor:
    """Runs ``command`` in a background thread, restarting it until ``stop``."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        on_exit: Callable[[int, float], None] | None = None,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        healthy_after: float = 60.0,
        name: str = "child",
    ) -> None:
        self.command = list(command)
        #: the ``child`` label of the restarts counter (a fixed word: "stream-worker", ...)
        self.name = name
        self.env = dict(env) if env is not None else None
        #: called with (exit status, seconds until the restart) when the child exits by itself
        self.on_exit = on_exit
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.healthy_after = healthy_after
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        delay = self.first_delay
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = subprocess.Popen(
                    self.command, env=self.env, preexec_fn=die_with_parent(os.getpid())
                )
                self.starts += 1
            started = time.monotonic()
            status = self._process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= self.healthy_after:
                delay = self.first_delay
            RESTARTS.labels(self.name).inc()
            if self.on_exit is not None:
                self.on_exit(status, delay)
            self._stopping.wait(delay)
            delay = min(delay * 2, self.max_delay)

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop restarting, terminate the child (kill it after ``timeout``); its exit status."""
        with self._lock:
            self._stopping.set()
            process = self._process
        status: int | None = None
        if process is not None:
            process.terminate()
            try:
                status = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                status = process.wait()
        self._thread.join(timeout=timeout)
        return status
