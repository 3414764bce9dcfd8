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
    process = subprocess.Popen(
        [sys.executable, "-m", "civicpulse", "up", "--no-worker", "--api-port", str(port)],
        env=env,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
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
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    counted = subprocess.run(
        [sys.executable, "-c", COUNT_SQL], env=env, capture_output=True, text=True, timeout=120
    )
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout.strip()) == len(ids)
