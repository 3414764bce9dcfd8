# schemathesis 4 ships partial generics (APIOperation, Case, Result) that mypy cannot resolve.
# mypy: disable-error-code="type-arg,union-attr,assignment,dict-item"
"""Schemathesis over the ingest API's OpenAPI schema, on the real broker: never a 5xx.

The app needs the session's broker, which exists only once fixtures ran; schemathesis' pytest
``from_fixture`` does not work with pytest 9, and its requests-based transport breaks when
``urllib3-future`` (pulled in by niquests) shadows urllib3. So each operation's strategy is driven
by Hypothesis directly, the request goes through Starlette's TestClient (httpx, in-process, with
the app's lifespan and so its real producer), and schemathesis validates the response.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import schemathesis
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi import checks as oas

from civicpulse.analytics.review.periods import Suspect
from civicpulse.analytics.review.store import store_suspects
from civicpulse.api.app import create_app
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.settings import Settings

from .analytics.api_setup import alerts_for, insert_alerts, make_query_app
from .analytics.data import (
    DAY_END,
    DAY_START,
    insert_presses,
    insert_scores,
    make_presses,
    stream_scores,
)
from .ingest_setup import KEYS, make_catalogue, make_keys, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ingest_app(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    return create_app(
        make_settings(kafka_bootstrap, prefix, data_dir),
        catalogue=make_catalogue(),
        device_keys=make_keys(data_dir / "keys.json"),
    )


def _operations(app: FastAPI) -> list[APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


CHECKS = [
    checks.not_a_server_error,
    oas.status_code_conformance,
    oas.content_type_conformance,
    oas.response_schema_conformance,
    oas.response_headers_conformance,
]


def _fuzz(
    client: TestClient, operation: APIOperation, examples: int, headers: dict[str, str]
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        if headers:
            case.headers = {**(case.headers or {}), **headers}
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        kwargs.pop("cookies", None)
        response = client.request(**kwargs)
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_is_documented(ingest_app: FastAPI) -> None:
    labels = {op.label for op in _operations(ingest_app)}
    # at least these (the live pages add their own operations)
    assert labels >= {
        "POST /v1/presses",
        "GET /healthz",
        "GET /readyz",
        "POST /v1/web/presses",
        "GET /v1/web/devices/{device_id}/question",
        "GET /v1/devices/{device_id}/question",
        "GET /v1/scores",
        "GET /v1/ranking",
        "GET /v1/heatmap",
        "GET /v1/verdicts",
        "GET /v1/alerts",
        "GET /v1/presses",
        "GET /v1/export",
        "GET /v1/alerts/stream",
    }


def test_no_server_errors_anonymous(ingest_app: FastAPI) -> None:
    with TestClient(ingest_app) as client:
        for operation in _operations(ingest_app):
            _fuzz(client, operation, 40, {})


def test_no_server_errors_authenticated(ingest_app: FastAPI) -> None:
    # With a valid key the generated batches get past authentication into validation/produce.
    [operation] = [op for op in _operations(ingest_app) if op.label == "POST /v1/presses"]
    with TestClient(ingest_app) as client:
        _fuzz(client, operation, 80, {"X-Device-Id": "term-1", "X-Device-Key": KEYS["term-1"]})


DAY_START_MS = int(DAY_START.timestamp() * 1000) + 3_600_000


@pytest.fixture
def query_app(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path
) -> tuple[FastAPI, str]:
    presses = make_presses(count=300, seed=5)
    insert_presses(clickhouse_client, presses)
    insert_scores(clickhouse_client, stream_scores(presses, DAY_START, DAY_END))
    insert_alerts(clickhouse_client, alerts_for())
    # one stored suspect period, so the review list answers with an item to check
    period = Suspect(
        "t1", "one_button_run", DAY_START_MS, DAY_START_MS + 600_000, 12, "test", "site-a"
    )
    store_suspects(clickhouse_client, [period], DAY_START)
    return make_query_app(clickhouse_settings, tmp_path)


def test_no_server_errors_with_a_token(query_app: tuple[FastAPI, str]) -> None:
    # Every query operation over a loaded day, past authentication. The alert stream answers
    # an endless 200 to a valid request, which an in-process client cannot end: its errors and
    # resumption are tested on a real server in test_api_alert_stream.
    app, token = query_app
    operations = [
        op
        for op in _operations(app)
        if {"queries", "review"} & set(op.definition.raw.get("tags") or [])
        and op.path != "/v1/alerts/stream"
    ]
    assert len(operations) >= 10
    client = TestClient(app)  # no lifespan: queries need no producer
    for operation in operations:
        _fuzz(client, operation, 60, {"Authorization": f"Bearer {token}"})
