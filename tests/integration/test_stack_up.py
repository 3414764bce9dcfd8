"""`civicpulse up` runs the sink and the API in one process on one embedded chDB path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer

from civicpulse.infra.kafka_process import free_port
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.topics import PRESSES_ACCEPTED, topic_name

from .metrics_scrape import scrape, total

pytestmark = pytest.mark.integration

COUNT_SQL = (
    "from civicpulse.schemas.settings import Settings;"
    "from civicpulse.sink.clickhouse import create_client;"
    "print(create_client(Settings()).query("
    "'SELECT uniqExact(event_id) FROM presses FINAL').result_rows[0][0])"
)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "civicpulse up exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


def test_up_serves_the_api_and_sinks_presses_into_the_shared_engine(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb:///{tmp_path / 'chdb'}",
    }
    sql_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicpulse",
            "up",
            "--no-worker",
            "--api-port",
            str(port),
            "--sql-port",
            str(sql_port),
        ],
        env=env,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        # The same process serves ClickHouse's HTTP interface over its engine.
        assert httpx.get(f"http://127.0.0.1:{sql_port}/ping").text == "Ok.\n"
        now = datetime.now(UTC)
        producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
        ids = [uuid.uuid4() for _ in range(25)]
        for index, event_id in enumerate(ids):
            press = JudgedPress(
                event_id=event_id,
                channel="terminal",
                device_id="desk-1",
                button=1 + index % 4,
                pressed_at=now - timedelta(seconds=index),
                received_at=now,
                verdict="counted",
                site_id="s1",
                department_id="d1",
                question_id="q1",
                question_kind="citizen",
            )
            producer.produce(
                topic_name(PRESSES_ACCEPTED, topic_prefix),
                key=b"desk-1",
                value=press.model_dump_json(exclude_none=True).encode(),
            )
        # one re-delivered press: stored once
        producer.produce(
            topic_name(PRESSES_ACCEPTED, topic_prefix),
            key=b"desk-1",
            value=press.model_dump_json(exclude_none=True).encode(),
        )
        assert producer.flush(30) == 0
        time.sleep(8)  # the sink flushes at least every second
        # The sink runs in the API's process: its counters are on the API's /metrics (the
        # re-delivered press is written twice; the table keeps it once).
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        written = total(samples, "civicpulse_sink_rows_written_total", table="presses")
        assert written == len(ids) + 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    counted = subprocess.run(
        [sys.executable, "-c", COUNT_SQL], env=env, capture_output=True, text=True, timeout=120
    )
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout.strip()) == len(ids)


def _descendants(root: int) -> set[int]:
    """Every living process below ``root`` (the broker runs in its own session, not group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(encoding="ascii")
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_ctrl_c_stops_the_broker_and_the_worker_that_up_started(tmp_path: Path) -> None:
    port, kafka_port, controller_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP",)},
        "CIVICPULSE_KAFKA_PORT": str(kafka_port),
        "CIVICPULSE_KAFKA_CONTROLLER_PORT": str(controller_port),
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb:///{tmp_path / 'chdb'}",
    }
    env.pop("CIVICPULSE_KAFKA_BOOTSTRAP", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicpulse",
            "up",
            "--api-port",
            str(port),
            "--sql-port",
            str(free_port()),
        ],
        env=env,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=180)
        started = _descendants(process.pid)
        assert len(started) >= 2  # the broker and the worker, at least
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 0
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in started):
        assert time.monotonic() < deadline, [p for p in started if _running(p)]
        time.sleep(0.2)
