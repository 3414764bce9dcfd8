"""`civicpulse up` reads CIVICPULSE_SUBSCRIPTIONS before it starts anything that runs: a
malformed file stops it with the line named (the delivery itself: test_delivery_restart.py,
and the demo runs it under `up`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from civicpulse.infra.kafka_process import free_port

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
