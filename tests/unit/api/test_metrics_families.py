"""The API's /metrics serves its own process's families, not the stream worker's.

The top-level CLI (``civicpulse api serve``, ``civicpulse up``) imports every command, so the
stream worker's metric definitions live in the API's process too; served there they only ever
read 0 beside the worker's own /metrics, and a dashboard summing them across targets would
count that process as a worker.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from civicpulse.api.metrics import router


def test_metrics_leave_out_the_stream_workers_families() -> None:
    importlib.import_module("civicpulse.stream.framework.metrics")  # as the CLI's import does
    importlib.import_module("civicpulse.sink.metrics")  # the sink runs in the API's process in up
    app = FastAPI()
    app.include_router(router)
    page = TestClient(app).get("/metrics")
    assert page.status_code == 200
    names = {family.name for family in text_string_to_metric_families(page.text)}
    assert not {n for n in names if n.startswith("civicpulse_stream_")}
    assert {n for n in names if n.startswith("civicpulse_api_")}
    assert {n for n in names if n.startswith("civicpulse_sink_")}
    assert "process_cpu_seconds" in names  # the process collector stays
