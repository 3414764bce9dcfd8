"""``civicpulse kafka start|status|stop`` and ``civicpulse topics create`` as a user runs them:
real processes, real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civicpulse.infra.kafka_process import free_port, is_alive, port_is_free
from civicpulse.infra.topics import list_topics
from civicpulse.schemas.topics import TOPICS, topic_name
from civicpulse.stream.app import stage_topics
from tests.fixtures.kafka import own_launcher_environment

pytestmark = pytest.mark.integration

CIVICPULSE = str(Path(sys.executable).with_name("civicpulse"))


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CIVICPULSE, "kafka", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def launcher_env(tmp_path: Path) -> dict[str, str]:
    env = own_launcher_environment()
    port = free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()
    env |= {
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
        "CIVICPULSE_KAFKA_PORT": str(port),
        "CIVICPULSE_KAFKA_CONTROLLER_PORT": str(controller_port),
    }
    return env


def test_start_status_stop(launcher_env: dict[str, str]) -> None:
    port = launcher_env["CIVICPULSE_KAFKA_PORT"]
    started = _run(launcher_env, "start")
    try:
        assert started.returncode == 0, started.stderr
        assert f"started on 127.0.0.1:{port}" in started.stdout

        status = _run(launcher_env, "status", "--json")
        assert status.returncode == 0, status.stderr
        state = json.loads(status.stdout)
        assert state["running"] is True
        assert state["bootstrap"] == f"127.0.0.1:{port}"
        assert state["version"].startswith("4.1.")
        pid = state["pid"]
        assert is_alive(pid)

        again = _run(launcher_env, "start")
        assert again.returncode == 0, again.stderr
        assert f"already running on 127.0.0.1:{port} (pid {pid}" in again.stdout
    finally:
        stopped = _run(launcher_env, "stop")

    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped Kafka broker (pid {pid})" in stopped.stdout
    assert not is_alive(pid)
    assert port_is_free(int(port))
    after = _run(launcher_env, "status")
    assert after.returncode == 1
    assert "not running" in after.stdout
    assert _run(launcher_env, "stop").stdout.startswith("no broker running")


def test_start_refuses_a_taken_port(launcher_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(launcher_env["CIVICPULSE_KAFKA_PORT"])))
        squatter.listen()
        result = _run(launcher_env, "start")
    assert result.returncode == 1
    assert "is taken by another process" in result.stderr
    assert not (Path(launcher_env["CIVICPULSE_DATA_DIR"]) / "kafka" / "kafka.pid").exists()


def test_topics_create_makes_the_catalogue_and_every_stages_declared_topics(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    env = dict(os.environ, KAFKA_BOOTSTRAP=kafka_bootstrap, CIVICPULSE_TOPIC_PREFIX=topic_prefix)
    specs = {spec.name: spec for spec in (*TOPICS, *stage_topics())}
    create = [CIVICPULSE, "topics", "create"]

    first = subprocess.run(create, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(create, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert f"{len(specs)} created, 0 already existed" in first.stdout
    assert f"0 created, {len(specs)} already existed" in second.stdout
    assert list_topics(kafka_bootstrap, topic_prefix) == {
        topic_name(spec, topic_prefix): spec.partitions for spec in specs.values()
    }
