"""`civicpulse up` with CIVICPULSE_SUBSCRIPTIONS: a malformed file stops it before anything runs,
with the line named; a valid one has `up` run the delivery, which sends an alert to the
subscriber and stops with `up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from civicpulse.infra.kafka_process import free_port

from .receivers import WebhookReceiver, wait_until
from .setup import alert_event, prepare, produce_alerts

pytestmark = pytest.mark.integration


def test_up_refuses_a_malformed_subscriptions_file(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    path = tmp_path / "subscriptions.toml"
    path.write_text('[[subscription]]\ndepartment = "d-civil"\nformat = "xml"\nemail = ["a@b.c"]\n')
    env = {
        **os.environ,
        "CIVICPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
        "CIVICPULSE_SUBSCRIPTIONS": str(path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "civicpulse", "up", "--api-port", str(free_port()),
         "--sql-port", str(free_port()), "--no-worker"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    message = " ".join(result.stderr.split())
    assert result.returncode == 1, message
    assert "[[subscription]] #1, line 3: format" in message


def test_up_runs_the_delivery_when_subscriptions_are_set(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    prepare(kafka_bootstrap, topic_prefix)
    with WebhookReceiver() as hooks:
        path = tmp_path / "subscriptions.toml"
        path.write_text(
            f'[[subscription]]\ndepartment = "d-civil"\nwebhook = "{hooks.url("/up")}"\n'
            'secret = "up-runs-delivery-secret-012345"\n'
        )
        env = {
            **os.environ,
            "CIVICPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
            "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
            "CIVICPULSE_SUBSCRIPTIONS": str(path),
        }
        log = tmp_path / "up.log"
        with log.open("wb") as out:
            up = subprocess.Popen(
                [sys.executable, "-m", "civicpulse", "up", "--api-port", str(free_port()),
                 "--sql-port", str(free_port()), "--no-worker"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        event = alert_event()
        try:
            produce_alerts(kafka_bootstrap, topic_prefix, [event])
            wait_until(lambda: len(hooks.requests) == 1, 90, "the alert delivered under up")
        finally:
            up.send_signal(signal.SIGTERM)
            status = up.wait(60)
        text = log.read_text(errors="replace")
        assert status == 0, text
        assert "alert delivery: 1 subscription(s)" in text
        assert hooks.requests[0].key == f"{event.alert_id}:opened"
