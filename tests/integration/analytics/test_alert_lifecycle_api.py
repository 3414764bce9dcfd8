"""Acknowledge, comment and close through the API on the real broker and the real engine: each
action reaches ``alerts.actions`` keyed by the alert, the sink stores it, ``GET /v1/alerts``
shows the lifecycle; unknown ids are 404, repeated acks or closes 409, bad bodies 422."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from civicpulse.schemas.events import ALERT_COMMENT_MAX, AlertAction, AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.sink.batch import BatchPolicy
from civicpulse.sink.writer import Sink

from .api_setup import RANGE, alerts_for, insert_alerts, make_query_app, walk

pytestmark = pytest.mark.integration

EVENTS = alerts_for()
OPEN = [e.alert_id for e in EVENTS if e.state == "opened"][3:]  # alerts 3, 4, 5: never resolved
RESOLVED = next(e for e in EVENTS if e.state == "resolved").alert_id
RECOGNITION = uuid.UUID(int=2000)


def _recognition() -> AlertEvent:
    base = next(e for e in EVENTS if e.alert_id == OPEN[0])
    return base.model_copy(
        update={"alert_id": RECOGNITION, "kind": "recognition", "score": 91.0, "threshold": 85.0}
    )


@pytest.fixture
def setup(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    tmp_path: Path,
) -> Iterator[tuple[TestClient, str, Callable[[], None]]]:
    create_test_topics()
    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    insert_alerts(clickhouse_client, [*EVENTS, _recognition()])
    app, token = make_query_app(settings, tmp_path)
    group = f"sink-{uuid.uuid4().hex}"

    def sink() -> None:
        Sink(settings, group_id=group, policy=BatchPolicy(100, 0.2)).run(stop_when_idle=1.5)

    with TestClient(app) as client:
        yield client, token, sink


def _post(client: TestClient, token: str, alert: object, action: str, **body: Any) -> Any:
    return client.post(
        f"/v1/alerts/{alert}/{action}",
        json=body or None,
        headers={"Authorization": f"Bearer {token}"},
    )


def _by_alert(client: TestClient, token: str, **params: str) -> dict[str, dict[str, Any]]:
    return {i["alert_id"]: i for i in walk(client, "/v1/alerts", {**RANGE, **params}, token)}


def _actions_on_topic(bootstrap: str, topic: str, expect: int) -> list[tuple[bytes, AlertAction]]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[tuple[bytes, AlertAction]] = []
    try:
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append((message.key(), AlertAction.model_validate_json(message.value())))
            if len(found) >= expect:
                break
    finally:
        consumer.close()
    return found


def test_ack_comment_close_reach_the_topic_the_table_and_the_alert_list(
    setup: tuple[TestClient, str, Callable[[], None]], kafka_bootstrap: str, topic_prefix: str
) -> None:
    client, token, sink = setup
    first, second = OPEN[0], OPEN[1]
    acked = _post(client, token, first, "ack", comment="on it")
    assert acked.status_code == 201, acked.text
    assert (acked.json()["by"], acked.json()["comment"]) == ("tests", "on it")
    assert _post(client, token, first, "comment", comment="queue is long").status_code == 201
    assert _post(client, token, second, "close").status_code == 201
    on_topic = _actions_on_topic(kafka_bootstrap, f"{topic_prefix}alerts.actions", 3)
    assert sorted((key, a.action) for key, a in on_topic) == sorted(
        [
            (str(first).encode(), "ack"),
            (str(first).encode(), "comment"),
            (str(second).encode(), "close"),
        ]
    )

    sink()
    items = _by_alert(client, token)
    one = items[str(first)]
    assert (one["acked_by"], one["closed"], one["closed_by"]) == ("tests", False, None)
    assert [(c["comment"], c["action"]) for c in one["comments"]] == [
        ("on it", "ack"),
        ("queue is long", "comment"),
    ]
    assert (items[str(second)]["closed"], items[str(second)]["closed_by"]) == (True, "tests")
    assert set(_by_alert(client, token, state="open")) == {str(first), str(OPEN[2])}

    # now the stored state refuses what no longer makes sense
    assert _post(client, token, first, "ack").status_code == 409
    assert "already closed" in _post(client, token, second, "close").json()["detail"]
    assert _post(client, token, second, "comment", comment="after the fact").status_code == 201


def test_a_recovered_alert_is_listed_closed_by_recovery_and_refuses_ack(
    setup: tuple[TestClient, str, Callable[[], None]],
) -> None:
    client, token, _ = setup
    items = [i for i in walk(client, "/v1/alerts", RANGE, token) if i["alert_id"] == str(RESOLVED)]
    assert [i["state"] for i in items] == ["opened", "resolved"]
    resolved_at = items[1]["at"]
    for item in items:  # both events of the alert carry the alert's lifecycle
        assert (item["closed"], item["closed_by"], item["closed_at"]) == (
            True,
            "recovered",
            resolved_at,
        )
    refused = _post(client, token, RESOLVED, "ack")
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        "the alert is already closed (by recovered)",
    )


def test_unknown_ids_bad_bodies_and_recognitions(
    setup: tuple[TestClient, str, Callable[[], None]],
) -> None:
    client, token, _ = setup
    assert _post(client, token, uuid.uuid4(), "ack").status_code == 404
    assert _post(client, token, "not-a-uuid", "ack").status_code == 422
    assert _post(client, token, OPEN[0], "comment").status_code == 422  # no comment
    too_long = "x" * (ALERT_COMMENT_MAX + 1)
    assert _post(client, token, OPEN[0], "comment", comment=too_long).status_code == 422
    assert _post(client, token, OPEN[0], "ack", note="x").status_code == 422  # unknown field
    assert _post(client, token, RECOGNITION, "ack").status_code == 409
    assert _post(client, token, RECOGNITION, "comment", comment="well done").status_code == 201
    assert str(RECOGNITION) not in _by_alert(client, token, state="open")
    assert _by_alert(client, token)[str(RECOGNITION)]["kind"] == "recognition"
    unauthorised = client.post(f"/v1/alerts/{OPEN[0]}/ack")
    assert unauthorised.status_code == 401
