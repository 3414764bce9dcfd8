"""The ingest API against the real broker: what a 202 puts on presses.raw, and every 4xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from civicpulse.api.app import create_app
from civicpulse.api.ingest.state import IngestOptions
from civicpulse.infra.topics import create_topics
from civicpulse.producers.kafka_producer import AsyncPublisher, create_producer, presses_topic
from civicpulse.schemas.events import PressEvent

from .ingest_setup import KEYS, ORIGIN, make_catalogue, make_keys, make_settings
from .presses_consumer import read_topic

pytestmark = pytest.mark.integration

OPTIONS = IngestOptions(max_batch=5, max_body_bytes=20_000, visitor_burst=2, ip_burst=1000)


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture(scope="module")
def client(
    kafka_bootstrap: str, prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    create_topics(kafka_bootstrap, prefix)
    data_dir = tmp_path_factory.mktemp("api")
    settings = make_settings(kafka_bootstrap, prefix, data_dir)
    app = create_app(
        settings,
        catalogue=make_catalogue(),
        device_keys=make_keys(data_dir / "keys.json"),
        options=OPTIONS,
    )
    with TestClient(app) as test_client:
        yield test_client


def press(device_id: str = "term-1", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "device_id": device_id,
        "button": 3,
        "pressed_at": "2025-03-14T09:26:53.589Z",
    }
    body.update(fields)
    return body


def auth(device_id: str = "term-1", key: str | None = None) -> dict[str, str]:
    return {"X-Device-Id": device_id, "X-Device-Key": key if key is not None else KEYS[device_id]}


# Presses each test expects on the topic; the last test checks nothing else got there.
ACCEPTED: dict[str, dict[str, Any]] = {}


def test_batch_is_durable_on_presses_raw_with_key_and_fields(
    client: TestClient, kafka_bootstrap: str, prefix: str
) -> None:
    batch = [
        press(button=1, reason="wait_time", lang="pl"),
        press(button=4, pressed_at="2025-03-14T10:26:53.589+01:00"),
        press(button=2, received_at="1999-01-01T00:00:00Z"),  # a client's received_at is ignored
    ]
    before = datetime.now(UTC)
    response = client.post("/v1/presses", json={"events": batch}, headers=auth())
    after = datetime.now(UTC)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 3
    assert [r["event_id"] for r in body["results"]] == [p["event_id"] for p in batch]
    assert all(r["status"] == "accepted" and r["offset"] >= 0 for r in body["results"])
    for p in batch:
        ACCEPTED[p["event_id"]] = p

    messages = read_topic(kafka_bootstrap, f"{prefix}presses.raw", 3)
    by_id = {m.value["event_id"]: m for m in messages}
    assert set(by_id) == {p["event_id"] for p in batch}
    assert {m.key for m in messages} == {"term-1"}
    assert len({m.partition for m in messages}) == 1
    assert [m.value["event_id"] for m in sorted(messages, key=lambda m: m.offset)] == [
        p["event_id"] for p in batch
    ]
    first = by_id[batch[0]["event_id"]].value
    assert first["channel"] == "terminal" and first["button"] == 1
    assert first["reason"] == "wait_time" and first["lang"] == "pl"
    assert first["pressed_at"] == "2025-03-14T09:26:53.589Z"
    assert "visitor" not in first
    assert by_id[batch[1]["event_id"]].value["pressed_at"] == "2025-03-14T09:26:53.589Z"
    for message in messages:
        event = PressEvent.model_validate(message.value)
        assert before - timedelta(milliseconds=1) <= event.received_at <= after


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        ({}, 401, "X-Device-Key"),
        ({"X-Device-Id": "term-1"}, 401, "X-Device-Key"),
        ({"X-Device-Id": "term-1", "X-Device-Key": KEYS["term-2"]}, 401, "wrong device key"),
        ({"X-Device-Id": "nobody", "X-Device-Key": "whatever"}, 401, "wrong device key"),
        ({"X-Device-Id": "ghost-1", "X-Device-Key": KEYS["ghost-1"]}, 404, "not in the catalogue"),
        ({"X-Device-Id": "old-1", "X-Device-Key": KEYS["old-1"]}, 410, "retired"),
        ({"X-Device-Id": "web-1", "X-Device-Key": KEYS["web-1"]}, 403, "/v1/web/presses"),
    ],
)
def test_device_problems(
    client: TestClient, headers: dict[str, str], status: int, fragment: str
) -> None:
    device = headers.get("X-Device-Id", "term-1")
    response = client.post("/v1/presses", json={"events": [press(device)]}, headers=headers)
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]


def test_oversize_batch_and_body_are_413(client: TestClient) -> None:
    six = {"events": [press() for _ in range(6)]}
    response = client.post("/v1/presses", json=six, headers=auth())
    assert response.status_code == 413 and "limit is 5" in response.json()["detail"]
    huge = {"events": [press(reason="x" * 60, filler="y" * 30_000)]}
    response = client.post("/v1/presses", json=huge, headers=auth())
    assert response.status_code == 413 and "20000 bytes" in response.json()["detail"]


def test_invalid_events_are_422_with_index_and_field(client: TestClient) -> None:
    good = press()
    bad_button = press(button=5)
    no_time = press()
    del no_time["pressed_at"]
    naive = press(pressed_at="2025-03-14T09:26:53")
    visitor = press(channel="web")
    response = client.post(
        "/v1/presses", json={"events": [good, bad_button, no_time, naive, visitor]}, headers=auth()
    )
    assert response.status_code == 422
    problems = {(p["index"], p["field"]) for p in response.json()["detail"]}
    assert problems == {(1, "button"), (2, "pressed_at"), (3, "pressed_at"), (4, "channel")}
    detail = response.json()["detail"]
    assert next(p for p in detail if p["index"] == 1)["event_id"] == bad_button["event_id"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not json", "not JSON"), (b"[]", "expected an object"), (b'{"events": []}', "empty")],
)
def test_malformed_body_is_422(client: TestClient, content: bytes, message: str) -> None:
    response = client.post(
        "/v1/presses", content=content, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "body" and message in problem["message"]


def test_event_of_another_device_is_403(client: TestClient) -> None:
    response = client.post(
        "/v1/presses", json={"events": [press(), press("term-2")]}, headers=auth()
    )
    assert response.status_code == 403
    assert "[1]" in response.json()["detail"]


def test_web_press_gets_a_visitor_hash_and_no_browser_id(
    client: TestClient, kafka_bootstrap: str, prefix: str
) -> None:
    body = press("web-1", button=2, reason="staff", lang="en", browser_id="b" * 32)
    response = client.post("/v1/web/presses", json=body, headers={"Origin": ORIGIN})
    assert response.status_code == 202, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    ACCEPTED[body["event_id"]] = body
    messages = read_topic(kafka_bootstrap, f"{prefix}presses.raw", len(ACCEPTED))
    [web] = [m for m in messages if m.value["event_id"] == body["event_id"]]
    assert web.key == "web-1"
    assert web.value["channel"] == "web" and web.value["button"] == 2
    assert web.value["reason"] == "staff" and web.value["lang"] == "en"
    assert len(web.value["visitor"]) == 32 and "b" * 32 not in str(web.value)
    assert "browser_id" not in web.value and "testclient" not in str(web.value)

    again = client.post("/v1/web/presses", json={**body, "event_id": str(uuid.uuid4())})
    assert again.status_code == 202
    ACCEPTED[again.json()["event_id"]] = body
    limited = client.post("/v1/web/presses", json={**body, "event_id": str(uuid.uuid4())})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    # Another visitor on the same widget is not limited by the first one.
    other = {**body, "event_id": str(uuid.uuid4()), "browser_id": "c" * 32}
    assert client.post("/v1/web/presses", json=other).status_code == 202
    ACCEPTED[other["event_id"]] = other


@pytest.mark.parametrize(
    ("device_id", "status"), [("term-1", 403), ("ghost-1", 404), ("nobody", 404), ("old-1", 410)]
)
def test_web_endpoint_only_takes_web_devices(
    client: TestClient, device_id: str, status: int
) -> None:
    body = press(device_id, browser_id="d" * 32)
    assert client.post("/v1/web/presses", json=body).status_code == status


def test_web_press_invalid_is_422_with_field(client: TestClient) -> None:
    response = client.post("/v1/web/presses", json=press("web-1", browser_id="short"))
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["body.browser_id"]


def test_cors_allows_only_city_origins(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = client.options("/v1/web/presses", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    evil = client.options(
        "/v1/web/presses", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in evil.headers


def test_question_texts(client: TestClient) -> None:
    pl = client.get("/v1/web/devices/web-1/question", params={"lang": "pl"}).json()
    assert pl["text"] == "Jak oceniasz obsługę w urzędzie?" and pl["question_id"] == "q-service"
    assert len(pl["buttons"]) == 4 and pl["reasons"][0]["code"] == "wait_time"
    en = client.get("/v1/web/devices/web-1/question", params={"lang": "en"}).json()
    assert en["text"] == "How was our service today?" and en["thanks"] == "Thank you!"
    assert client.get("/v1/web/devices/term-1/question").status_code == 403
    assert client.get("/v1/devices/kiosk-1/question").json()["lang"] == "pl"
    assert client.get("/v1/devices/nobody/question").status_code == 404


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_not_ready_without_topic_and_503_without_broker(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(kafka_bootstrap, f"missing{uuid.uuid4().hex[:8]}.", tmp_path)
    with TestClient(
        create_app(settings, catalogue=make_catalogue(), device_keys=make_keys(tmp_path / "k"))
    ) as c:
        response = c.get("/readyz")
        assert response.status_code == 503 and "missing" in response.json()["detail"]

    dead = make_settings("127.0.0.1:1", "dead.", tmp_path)
    publisher = AsyncPublisher(create_producer(dead, delivery_timeout_ms=1500), presses_topic(dead))
    app = create_app(
        dead,
        publisher=publisher,
        catalogue=make_catalogue(),
        device_keys=make_keys(tmp_path / "k2"),
    )
    with TestClient(app) as c:
        response = c.post("/v1/presses", json={"events": [press()]}, headers=auth())
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert "resend" in response.json()["detail"]
        assert c.get("/readyz").status_code == 503
    publisher.close(timeout=0)


def test_only_accepted_presses_reached_the_topic(kafka_bootstrap: str, prefix: str) -> None:
    messages = read_topic(kafka_bootstrap, f"{prefix}presses.raw", len(ACCEPTED), settle=2.0)
    assert sorted(m.value["event_id"] for m in messages) == sorted(ACCEPTED)
