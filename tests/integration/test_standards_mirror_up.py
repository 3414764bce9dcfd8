"""`civicpulse up` and `civicpulse api serve` mirror the catalogue's standards into their store
(issue 24): the catalogue file's standards reach ``standards_current`` once the topic was read,
and a catalogue loaded later with one standard changed and one removed replaces them, read
through the SQL endpoint as Grafana reads them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest

from civicpulse.api.query.tokens import ApiTokens
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.catalogue import Standard
from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
from civicpulse.stream.catalogue.topic import publish_catalogue
from tests.fixtures.clickhouse import run_civicpulse
from tests.integration.analytics.test_standards import _catalogue
from tests.integration.dashboards.test_standards_panels import _changed_catalogue
from tests.integration.test_stack_up import _wait_healthy

pytestmark = pytest.mark.integration

_CURRENT = "SELECT id, valid_from, target_score FROM standards_current ORDER BY id, valid_from"


def _read(client: Any) -> list[tuple[Any, ...]]:
    return [(i, d.isoformat(), t) for i, d, t in client.query(_CURRENT).result_rows]


def _rows(standards: Iterable[Standard]) -> list[tuple[Any, ...]]:
    return sorted((s.id, s.valid_from.isoformat(), s.target_score) for s in standards)


def _until(read: Callable[[], Any], want: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        try:
            got = read()
        except Exception:  # the endpoint or the table not there yet
            got = None
        if got == want:
            return got
        time.sleep(0.5)
    return got


def test_up_mirrors_the_catalogues_standards_and_their_changes(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    token = ApiTokens.in_data_dir(data).add("grafana")
    catalogue_file = tmp_path / "catalogue.json"
    catalogue_file.write_bytes(orjson.dumps(_catalogue().model_dump(mode="json", by_alias=True)))
    port, sql_port = free_port(), free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
        "CIVICPULSE_DATA_DIR": str(data),
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb:///{tmp_path / 'chdb'}",
        "CIVICPULSE_CATALOGUE_FILE": str(catalogue_file),
    }
    command = ["up", "--no-worker", "--api-port", str(port), "--sql-port", str(sql_port)]
    process = subprocess.Popen([sys.executable, "-m", "civicpulse", *command], env=env)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        grafana = clickhouse_connect.get_client(
            host="127.0.0.1", port=sql_port, username="grafana", password=token,
            database="civicpulse",
        )  # fmt: skip

        first = _rows(_catalogue().standards)
        assert _until(lambda: _read(grafana), first) == first
        changed = _rows(_changed_catalogue().standards)
        topic = topic_name(CATALOGUE_DEVICES, topic_prefix)
        publish_catalogue(kafka_bootstrap, topic, _changed_catalogue())
        assert _until(lambda: _read(grafana), changed) == changed
        assert "dep-b" not in {row[0] for row in _read(grafana)}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_api_serve_mirrors_the_standards_of_the_catalogue_topic(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """`civicpulse api serve` owns an embedded store too: it mirrors what the topic holds."""
    create_topics(kafka_bootstrap, topic_prefix)
    publish_catalogue(
        kafka_bootstrap, topic_name(CATALOGUE_DEVICES, topic_prefix), _changed_catalogue()
    )
    data = tmp_path / "data"
    data.mkdir()
    token = ApiTokens.in_data_dir(data).add("grafana")
    port, sql_port = free_port(), free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
        "CIVICPULSE_DATA_DIR": str(data),
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb:///{tmp_path / 'chdb'}",
    }
    assert run_civicpulse("db", "migrate", env=env).returncode == 0
    command = ["api", "serve", "--port", str(port), "--sql-port", str(sql_port)]
    process = subprocess.Popen([sys.executable, "-m", "civicpulse", *command], env=env)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        grafana = clickhouse_connect.get_client(
            host="127.0.0.1", port=sql_port, username="grafana", password=token,
            database="civicpulse",
        )  # fmt: skip
        want = _rows(_changed_catalogue().standards)
        assert _until(lambda: _read(grafana), want) == want
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
