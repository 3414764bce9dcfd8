"""The sink end to end: real broker -> ``Sink`` -> real ClickHouse (chDB)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from civicpulse.schemas.settings import Settings
from civicpulse.sink.batch import BatchPolicy
from civicpulse.sink.writer import Sink
from tests.fixtures.clickhouse import run_civicpulse

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration


def _press(i: int, verdict: str = "counted") -> dict[str, Any]:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(seconds=11 * i)
    return {
        "event_id": str(uuid.UUID(int=10_000 + i)),
        "channel": "terminal",
        "device_id": f"dev-{i % 7}",
        "button": 1 + i % 4,
        "pressed_at": at.isoformat().replace("+00:00", "Z"),
        "received_at": (at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
        "verdict": verdict,
        "site_id": f"site-{i % 3}",
        "department_id": "civil-registry",
        "question_id": "q-visit",
        "question_kind": "citizen",
    }


def _produce(bootstrap: str, topic: str, values: list[tuple[str, bytes]]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in values:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def _drain(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list[Any]:
    import time

    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"probe-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expect and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(message)
        # one more short look: more than `expect` would be a bug too
        extra = consumer.poll(1.0)
        if extra is not None and extra.error() is None:
            found.append(extra)
    finally:
        consumer.close()
    return found


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        offsets = consumer.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=10
        )
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def test_sink_stores_presses_once_and_dead_letters_bad_messages(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
) -> None:
    create_test_topics()
    accepted, rejected = f"{topic_prefix}presses.accepted", f"{topic_prefix}presses.rejected"
    presses = [_press(i) for i in range(600)]
    values = [(p["device_id"], orjson.dumps(p)) for p in presses]
    # Re-delivered upstream (the stream replayed after a crash): same events again.
    values += values[:80]
    values.insert(100, ("dev-1", b'{"event_id": "not json'))
    values.insert(200, ("dev-2", orjson.dumps({**_press(9999), "button": 9})))
    _produce(kafka_bootstrap, accepted, values)
    _produce(kafka_bootstrap, rejected, [("dev-3", orjson.dumps(_press(700, "burst")))])

    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    sink = Sink(settings, group_id=f"sink-{uuid.uuid4().hex}", policy=BatchPolicy(200, 0.5))
    stats = sink.run(stop_when_idle=3)

    assert stats.messages == len(values) + 1
    assert stats.dead == 2
    final = clickhouse_client.query(
        "SELECT verdict, count() FROM presses FINAL GROUP BY verdict ORDER BY verdict"
    ).result_rows
    assert final == [("counted", 600), ("burst", 1)]
    assert clickhouse_client.query(
        "SELECT uniqExact(event_id) FROM presses WHERE verdict = 'counted'"
    ).result_rows == [(600,)]
    letters = [
        json.loads(m.value()) for m in _drain(kafka_bootstrap, f"{topic_prefix}deadletter", 2)
    ]
    assert len(letters) == 2
    assert {letter["source_topic"] for letter in letters} == {accepted}
    assert all(letter["stage"] == "sink" for letter in letters)
    errors = sorted(letter["error"] for letter in letters)
    assert "not a valid JudgedPress" in errors[0]
    assert any("button" in error for error in errors)
    assert any(letter["payload"] == '{"event_id": "not json' for letter in letters)
    assert all(isinstance(letter["source_offset"], int) for letter in letters)
    # everything read was committed (6 partitions of presses.accepted)
    assert _committed(kafka_bootstrap, sink.group_id, accepted, 6) == len(values)


_PROBE = """
import json, sys
from civicpulse.schemas.settings import Settings
from civicpulse.sink.clickhouse import create_client
c = create_client(Settings(clickhouse_dsn="chdb://" + sys.argv[1]))
raw, distinct = c.query("SELECT count(), uniqExact(event_id) FROM presses").result_rows[0]
final = c.query("SELECT count() FROM presses FINAL").result_rows[0][0]
print(json.dumps({"raw": raw, "distinct": distinct, "final": final}))
"""


def _probe(path: Path) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts: dict[str, int] = json.loads(result.stdout)
    return counts


def _kill_mid_run(
    args: tuple[str, ...], env: dict[str, str], group: str, topic: str, delay: float
) -> int:
    """Start ``civicpulse sink`` and SIGKILL it from outside ``delay`` s after it committed more.

    Returns the offsets committed at the kill. The sink checkpoints every partition's batch in
    turn (insert, insert, ..., then one commit), so much of its time is spent with inserts done
    and their offsets not yet committed; the caller checks where the kill landed.
    """
    import os
    import signal
    import time

    from confluent_kafka import Consumer, KafkaException, TopicPartition

    bootstrap = env["KAFKA_BOOTSTRAP"]
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    partitions = [TopicPartition(topic, p) for p in range(6)]

    def committed_now() -> int:
        try:
            return sum(max(tp.offset, 0) for tp in probe.committed(partitions, timeout=5))
        except KafkaException:  # the group's coordinator is still being elected
            return -1

    start = committed_now()
    command = "import sys; from civicpulse.cli import app; sys.argv[0] = 'civicpulse'; app()"
    sink = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env={**os.environ, "COLUMNS": "200", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while committed_now() <= max(start, 0):
            assert sink.poll() is None, "the sink exited before it committed anything more"
            assert time.monotonic() < deadline, "the sink committed nothing within 90 s"
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(sink.pid, signal.SIGKILL)
        sink.wait(timeout=30)
    finally:
        probe.close()
        if sink.poll() is None:
            sink.kill()
            sink.wait(timeout=30)
    assert sink.returncode == -signal.SIGKILL
    return _committed(bootstrap, group, topic, 6)


def test_a_sink_killed_between_insert_and_commit_redelivers_and_the_table_keeps_each_press_once(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    tmp_path: Path,
) -> None:
    create_test_topics()
    accepted = f"{topic_prefix}presses.accepted"
    total = 12_000
    presses = [_press(i) for i in range(total)]
    _produce(kafka_bootstrap, accepted, [(p["device_id"], orjson.dumps(p)) for p in presses])
    group = f"sink-{uuid.uuid4().hex}"
    path = tmp_path / "chdb"
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{path}",
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
    }
    # Small batches: many checkpoints, so the kill finds the sink in the middle of its work.
    args = ("sink", "--group", group, "--stop-when-idle", "4", "--batch-rows", "100",
            "--batch-seconds", "0.2")  # fmt: skip

    # The test chooses the moment: some time after a commit, when the next checkpoint's inserts
    # ran and its commit did not. A kill that lands elsewhere is simply tried again later.
    landed = False
    for delay in (0.1, 0.05, 0.3, 0.5):  # about four kills in five land there
        committed_at_kill = _kill_mid_run(args, env, group, accepted, delay)
        assert 0 < committed_at_kill < total, committed_at_kill
        after_kill = _probe(path)
        # Offsets never run ahead of what ClickHouse stored.
        assert after_kill["final"] >= committed_at_kill, after_kill
        landed = after_kill["final"] > committed_at_kill
        if landed:
            break
    assert landed, "no kill landed between an insert and its commit in four tries"

    resumed = run_civicpulse(*args, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _committed(kafka_bootstrap, group, accepted, 6) == total
    counts = _probe(path)
    # Duplicates are tolerated downstream: FINAL (ReplacingMergeTree on event_id) keeps one row.
    assert counts["distinct"] == total, counts
    assert counts["final"] == total, counts


def test_sigterm_flushes_and_commits_what_was_read(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    tmp_path: Path,
) -> None:
    import os
    import signal
    import time

    create_test_topics()
    accepted = f"{topic_prefix}presses.accepted"
    presses = [_press(i) for i in range(500)]
    _produce(kafka_bootstrap, accepted, [(p["device_id"], orjson.dumps(p)) for p in presses])
    group = f"sink-{uuid.uuid4().hex}"
    path = tmp_path / "chdb"
    env = {
        **os.environ,
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb://{path}",
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
        "COLUMNS": "200",
    }
    # Batches that never fill nor age: only the SIGTERM checkpoint can store and commit them.
    command = "import sys; from civicpulse.cli import app; sys.argv[0] = 'civicpulse'; app()"
    sink = subprocess.Popen(
        [sys.executable, "-c", command, "sink", "--group", group,
         "--batch-rows", "100000", "--batch-seconds", "3600"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert sink.stdout is not None
        assert sink.stdout.readline().startswith("sink:")
        time.sleep(10)  # group join (~3 s) and fetching 500 messages
        assert _committed(kafka_bootstrap, group, accepted, 6) == 0
        sink.send_signal(signal.SIGTERM)
        out, err = sink.communicate(timeout=60)
    finally:
        if sink.poll() is None:
            sink.kill()
    assert sink.returncode == 0, out + err
    assert "500 messages" in out and "presses 500" in out, out
    assert _committed(kafka_bootstrap, group, accepted, 6) == 500
    assert _probe(path)["final"] == 500


def test_a_batch_clickhouse_does_not_accept_is_never_committed(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
) -> None:
    from civicpulse.sink.exceptions import SinkError

    create_test_topics()
    accepted = f"{topic_prefix}presses.accepted"
    _produce(kafka_bootstrap, accepted, [("dev-1", orjson.dumps(_press(i))) for i in range(20)])
    # Not the rows' fault: the table is gone. The sink must stop, not dead-letter or commit.
    clickhouse_client.command("DROP TABLE presses SYNC")
    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    sink = Sink(settings, group_id=f"sink-{uuid.uuid4().hex}", retries=1)
    with pytest.raises(SinkError, match="Offsets are not committed"):
        sink.run(stop_when_idle=3)
    assert sink.stats.dead == 0
    assert _committed(kafka_bootstrap, sink.group_id, accepted, 6) == 0
