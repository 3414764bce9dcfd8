"""``GET /v1/alerts/stream`` on the real broker, served by a real uvicorn: alerts produced on the
alert topics arrive as SSE events; a client that disconnects and comes back with
``Last-Event-ID`` gets every alert it missed, none twice; idle streams carry ping comments."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from confluent_kafka import Producer
from fastapi import FastAPI
from pydantic import SecretStr

from civicpulse.api.app import create_app
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics, ensure_alert_topics
from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import ALERTS_ALL, topic_name

from .ingest_setup import ServerThread, make_catalogue

pytestmark = pytest.mark.integration

TOKEN = "sse-test-token-0123456789abcdefghijklmnop"


@pytest.fixture
def server(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[ServerThread]:
    create_topics(kafka_bootstrap, topic_prefix)
    ensure_alert_topics(kafka_bootstrap, ["dep-a"], topic_prefix)
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        data_dir=tmp_path,
        api_token=SecretStr(TOKEN),
    )
    app: FastAPI = create_app(settings, catalogue=make_catalogue())
    app.state.sse_ping_seconds = 0.5
    with ServerThread(app, free_port()) as running:
        yield running


def _alert(i: int, department: str) -> AlertEvent:
    at = datetime.now(UTC)
    return AlertEvent(
        alert_id=uuid.uuid4(),
        state="opened",
        scope="site",
        scope_id=f"site-{i}",
        department_id=department,
        mode="threshold",
        score=10.0 + i,
        n=4 + i,
        threshold=50.0,
        window_start=at - timedelta(minutes=15),
        window_end=at,
        at=at,
    )


def _produce(bootstrap: str, topic: str, alerts: list[AlertEvent]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for alert in alerts:
        # keyed like the stream (scope:scope_id): the keys spread over alerts.all's partitions
        producer.produce(topic, alert.model_dump_json().encode(), key=f"site:{alert.scope_id}")
    assert producer.flush(15) == 0


class Stream:
    """An SSE client reading ``(id, data)`` events and counting ``: ping`` comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()
        self.pings = 0

    def take(self, count: int, seconds: float) -> list[tuple[str, dict[str, object]]]:
        """``count`` events, then anything more that arrives within ``seconds`` (must be none)."""
        events: list[tuple[str, dict[str, object]]] = []
        fields: dict[str, str] = {}
        deadline = time.monotonic() + 30
        quiet_until: float | None = None
        for line in self.lines:
            now = time.monotonic()
            assert now < deadline, f"only {len(events)} of {count} events within 30 s"
            if quiet_until is not None and now > quiet_until:
                return events
            if line.startswith(":"):
                self.pings += 1
            elif line == "":
                if "data" in fields:
                    events.append((fields["id"], orjson.loads(fields["data"])))
                    if len(events) == count:
                        quiet_until = time.monotonic() + seconds
                fields = {}
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        return events


def _connect(client: httpx.Client, url: str, last: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", **({"Last-Event-ID": last} if last else {})}
    request = client.build_request("GET", url, headers=headers)
    response = client.send(request, stream=True)
    assert response.status_code == 200, response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    return response


@pytest.mark.parametrize("department", [None, "dep-a"])
def test_resume_after_disconnect_loses_and_repeats_nothing(
    server: ServerThread, kafka_bootstrap: str, topic_prefix: str, department: str | None
) -> None:
    logical = f"alerts.{department}" if department else ALERTS_ALL.name
    topic = topic_name(logical, topic_prefix)
    url = f"{server.url}/v1/alerts/stream" + (f"?department={department}" if department else "")
    first_batch = [_alert(i, department or "dep-x") for i in range(12)]
    second_batch = [_alert(100 + i, department or "dep-x") for i in range(8)]
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        response = _connect(client, url)
        _produce(kafka_bootstrap, topic, first_batch)
        stream = Stream(response)
        seen = stream.take(5, 0)
        response.close()  # the client goes away mid-stream
        assert all(event_id.startswith(f"{topic}/") for event_id, _ in seen)
        _produce(kafka_bootstrap, topic, second_batch)
        resumed = _connect(client, url, last=seen[-1][0])
        rest = Stream(resumed).take(len(first_batch) + len(second_batch) - 5, 1.5)
        resumed.close()
    got = [str(data["alert_id"]) for _, data in seen + rest]
    produced = [str(a.alert_id) for a in first_batch + second_batch]
    assert len(got) == len(set(got)), "an alert was delivered twice"
    assert set(got) == set(produced), "an alert was lost"
    ids = [event_id for event_id, _ in seen + rest]
    assert len(ids) == len(set(ids))
    # within one partition the stream keeps the topic's order
    by_partition: dict[str, list[int]] = {}
    for event_id in ids:
        _, partition, offset = event_id.rsplit("/", 2)
        by_partition.setdefault(partition, []).append(int(offset))
    assert all(offsets == sorted(offsets) for offsets in by_partition.values())
    if department is None:
        assert len(by_partition) > 1, "the test alerts should spread over partitions"


def test_idle_stream_sends_ping_comments(server: ServerThread) -> None:
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        response = _connect(client, f"{server.url}/v1/alerts/stream")
        stream = Stream(response)
        deadline = time.monotonic() + 5
        for line in stream.lines:
            if line.startswith(":"):
                stream.pings += 1
            if stream.pings >= 2 or time.monotonic() > deadline:
                break
        response.close()
    assert stream.pings >= 2


def test_unknown_department_and_bad_last_event_id(server: ServerThread) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{server.url}/v1/alerts/stream"
    with httpx.Client(timeout=10.0) as client:
        assert client.get(url, params={"department": "nope"}, headers=auth).status_code == 404
        bad = client.get(url, headers={**auth, "Last-Event-ID": "other.topic/0/1"})
        assert bad.status_code == 422
        assert "Last-Event-ID" in bad.json()["detail"]
        assert client.get(url).status_code == 401
