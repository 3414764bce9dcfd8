"""Operating-system plumbing of the launcher: ports, pids, and which process is ours."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "BROKER_MAIN_CLASS",
    "file_lock",
    "free_port",
    "is_alive",
    "is_our_broker",
    "port_accepts",
    "port_is_free",
    "process_cmdline",
    "read_pid",
    "tail",
]

BROKER_MAIN_CLASS = "kafka.Kafka"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port``.

    SO_REUSEADDR mirrors what the JVM sets on its server sockets, so a port that only has
    TIME_WAIT connections left by a broker we just stopped counts as free, as it is for Java.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out as free (for tests and throw-away brokers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file``, or None when the file is missing or garbled."""
    try:
        return int(pid_file.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    # When this very process started the broker (tests), reap it so it does not linger as a
    # zombie; for a broker started by another `civicpulse` process this is not our child.
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            # Field 3 is the state; the command name before it may contain spaces.
            state = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[0]
            return state != "Z"
    return True


def process_cmdline(pid: int) -> list[str]:
    """The argv of ``pid`` (empty when it cannot be read)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.exists():
        # A process caught in the middle of exec() shows an empty cmdline for a moment.
        for _ in range(20):
            try:
                raw = proc.read_bytes()
            except OSError:
                return []
            if raw:
                return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
            time.sleep(0.025)
        return []
    # No /proc (macOS): ask ps. One string, split on spaces, is good enough to find our markers.
    try:
        done = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return []
    return done.stdout.split()


def is_our_broker(pid: int, server_properties: Path) -> bool:
    """True when ``pid`` is a Kafka broker running with exactly our config file.

    Guards ``stop`` against a recycled pid: after a reboot the pid file may name another process.
    """
    argv = process_cmdline(pid)
    return BROKER_MAIN_CLASS in argv and str(server_properties) in argv


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 256 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block."""
    # Several processes (test sessions, a user's shell) may start a broker at once; the lock
    # lets one of them resolve jars / start the broker while the others wait, then reuse it.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
