"""The terminal against a real broker that goes away and comes back, and via the real API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from civicpulse.api.app import create_app
from civicpulse.infra.kafka import LauncherConfig, start_broker, stop_broker
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.producers.buffer import PressBuffer
from civicpulse.producers.kafka_producer import create_producer, presses_topic
from civicpulse.producers.terminal import ApiSender, KafkaSender, Terminal
from civicpulse.schemas.settings import Settings

from .ingest_setup import KEYS, ServerThread, make_catalogue, make_keys, make_settings
from .presses_consumer import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LauncherConfig]:
    """A broker of this test alone (own data dir, free ports), so it can be stopped."""
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    settings = Settings()
    config = LauncherConfig(
        data_dir=tmp_path / "kafka",
        kafka_version=settings.kafka_version,
        port=port,
        controller_port=controller,
        cache_dir=settings.cache_dir,
    )
    start_broker(config, timeout=180)
    try:
        yield config
    finally:
        stop_broker(config)


def test_outage_buffers_presses_and_delivers_each_exactly_once(
    own_broker: LauncherConfig, tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=own_broker.bootstrap, topic_prefix="outage.")
    create_topics(own_broker.bootstrap, settings.topic_prefix)
    producer = create_producer(settings, client_id="terminal-test", delivery_timeout_ms=4000)
    sender = KafkaSender(producer, presses_topic(settings), timeout=8.0)
    terminal = Terminal("term-1", PressBuffer(tmp_path / "buffer.sqlite3"), sender)

    before = [terminal.press(b)[0] for b in (4, 3)]
    assert terminal.flush().delivered == 2

    stop_broker(own_broker)
    during = [terminal.press(b)[0] for b in (1, 2, 4, 4, 3)]
    report = terminal.flush()
    assert report.delivered == 0 and report.pending == 5 and report.error
    assert terminal.buffer.peek(10) == during

    start_broker(own_broker, timeout=180)
    # A restarted broker may refuse the idempotent producer for a while (coordinator loading,
    # reconnect backoff); the terminal's loop flushes again until it gets through, so does this.
    delivered, deadline = 0, time.monotonic() + 90
    while True:
        report = terminal.flush()
        delivered += report.delivered
        if report.pending == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (delivered, report.pending, report.error) == (5, 0, None)

    messages = read_topic(own_broker.bootstrap, presses_topic(settings), 7, settle=3.0)
    ids = [m.value["event_id"] for m in sorted(messages, key=lambda m: m.offset)]
    assert ids == [str(d.event_id) for d in before + during]  # each once, in press order
    assert {m.key for m in messages} == {"term-1"}
    assert [m.value["button"] for m in sorted(messages, key=lambda m: m.offset)] == [
        4,
        3,
        1,
        2,
        4,
        4,
        3,
    ]
    producer.flush(5)


def test_api_path_buffers_while_api_is_down(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    create_topics(kafka_bootstrap, prefix)
    settings = make_settings(kafka_bootstrap, prefix, tmp_path)
    port = free_port()
    sender = ApiSender(f"http://127.0.0.1:{port}", "term-1", KEYS["term-1"], timeout=5)
    terminal = Terminal("term-1", PressBuffer(tmp_path / "buffer.sqlite3"), sender)
    drafts = [terminal.press(b, reason="wait_time" if b < 3 else None)[0] for b in (2, 4, 1)]
    report = terminal.flush()
    assert report.pending == 3 and "unreachable" in (report.error or "")

    app = create_app(
        settings, catalogue=make_catalogue(), device_keys=make_keys(tmp_path / "k.json")
    )
    with ServerThread(app, port):
        report = terminal.flush()
    assert (report.delivered, report.pending, report.error) == (3, 0, None)

    messages = read_topic(kafka_bootstrap, f"{prefix}presses.raw", 3, settle=1.0)
    ordered = sorted(messages, key=lambda m: m.offset)
    assert [m.value["event_id"] for m in ordered] == [str(d.event_id) for d in drafts]
    assert ordered[0].value["reason"] == "wait_time" and ordered[1].value.get("reason") is None


def test_api_path_wrong_key_keeps_presses(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}."
    settings = make_settings(kafka_bootstrap, prefix, tmp_path)
    port = free_port()
    app = create_app(
        settings, catalogue=make_catalogue(), device_keys=make_keys(tmp_path / "k.json")
    )
    terminal = Terminal(
        "term-1",
        PressBuffer(tmp_path / "buffer.sqlite3"),
        ApiSender(f"http://127.0.0.1:{port}", "term-1", "not-the-key"),
    )
    terminal.press(3)
    with ServerThread(app, port):
        report = terminal.flush()
    assert report.pending == 1 and "401" in (report.error or "")
