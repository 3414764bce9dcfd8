"""OS plumbing of the launcher, against real sockets and real processes (no broker)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from civicpulse.infra.kafka_process import (
    free_port,
    is_alive,
    is_our_broker,
    port_accepts,
    port_is_free,
    read_pid,
    tail,
)


def test_a_listening_port_is_taken_until_closed() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert not port_is_free(port)
        assert port_accepts(port)
    assert port_is_free(port)
    assert not port_accepts(port)


def test_pid_file_reading(tmp_path: Path) -> None:
    pid_file = tmp_path / "kafka.pid"
    assert read_pid(pid_file) is None
    pid_file.write_text("not a pid")
    assert read_pid(pid_file) is None
    pid_file.write_text("4242\n")
    assert read_pid(pid_file) == 4242


def test_an_exited_child_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert is_alive(child.pid)
    finally:
        child.terminate()
    child.wait(timeout=10)
    assert not is_alive(child.pid)


def test_only_a_kafka_process_with_our_config_counts_as_ours(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    assert not is_our_broker(os.getpid(), config)
    # A process whose argv carries the main class and our config path, like the real broker's.
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "kafka.Kafka", str(config)]
    )
    try:
        assert is_our_broker(child.pid, config)
        assert not is_our_broker(child.pid, tmp_path / "other.properties")
    finally:
        child.terminate()
        child.wait(timeout=10)


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    assert tail(log) == ""
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert tail(log, 3) == "line 997\nline 998\nline 999"
