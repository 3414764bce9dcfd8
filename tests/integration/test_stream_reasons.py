"""The reasons processor (``stream.stages.reasons.processor``) as a real worker, through the
harness.

Judged presses are written to presses.accepted on known partitions; the counts on the ``reasons``
topic (latest per department, hour, reason and partition) must equal a recomputation from those
presses, each count must only grow, and a record that is not a JudgedPress is dead-lettered.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from civicpulse.infra.topics import TopicReport
from civicpulse.schemas.events import JudgedPress, ReasonCount
from civicpulse.schemas.topics import DEADLETTER, PRESSES_ACCEPTED, REASONS, topic_name
from civicpulse.stream.testing import processor_worker

from .stream_worker import Collector

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 7, 40, tzinfo=UTC)
Key = tuple[int, str, datetime, str]  # partition, department, hour start, reason


def judged_presses(n: int, seed: int = 12) -> list[tuple[int, JudgedPress]]:
    """``n`` counted presses over five hours, each with the partition it is written to; some
    carry no reason, some no department (neither is counted)."""
    rng = random.Random(seed)
    presses = []
    for i in range(n):
        device = rng.randrange(18)
        pressed = START + timedelta(seconds=rng.randrange(5 * 3600))
        press = JudgedPress(
            event_id=uuid.UUID(int=rng.getrandbits(128)),
            channel="terminal",
            device_id=f"dev-{device}",
            button=rng.randint(1, 4),
            pressed_at=pressed,
            received_at=pressed + timedelta(seconds=1),
            verdict="counted",
            department_id=None if i % 17 == 0 else f"dept-{device % 3}",
            reason=rng.choice([None, "waiting", "staff", "cleanliness"]),
        )
        presses.append((device % PRESSES_ACCEPTED.partitions, press))
    return presses


def expected_counts(presses: list[tuple[int, JudgedPress]]) -> Counter[Key]:
    """The independent recomputation: counted reasons per partition, department, hour, reason."""
    return Counter(
        (p, press.department_id, press.pressed_at.replace(minute=0, second=0), press.reason)
        for p, press in presses
        if press.reason is not None and press.department_id is not None
    )


def test_reasons_counts_equal_a_recomputation_from_the_presses(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
) -> None:
    create_test_topics()
    accepted = topic_name(PRESSES_ACCEPTED, topic_prefix)
    reasons, letters = topic_name(REASONS, topic_prefix), topic_name(DEADLETTER, topic_prefix)
    presses = judged_presses(600)
    expected = expected_counts(presses)
    assert expected.total() > 200 and len({key[1] for key in expected}) == 3
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for partition, press in presses:
        value = press.model_dump_json(exclude_none=True).encode()
        producer.produce(accepted, key=press.device_id.encode(), value=value, partition=partition)
    producer.produce(accepted, value=b'{"not": "a press"}', partition=2)
    assert producer.flush(30) == 0

    collector = Collector(kafka_bootstrap, [reasons, letters])
    latest: dict[Key, list[int]] = {}

    def counted() -> int:
        latest.clear()
        for _, value in collector.messages[reasons]:
            count = ReasonCount.model_validate_json(value)
            key = (count.partition, count.department_id, count.hour_start, count.reason)
            latest.setdefault(key, []).append(count.n)
        return sum(ns[-1] for ns in latest.values())

    spec = "civicpulse.stream.stages.reasons.processor:ReasonsProcessor"
    try:
        with processor_worker(spec, kafka_bootstrap, topic_prefix, tmp_path) as worker:
            deadline = time.monotonic() + 90
            while counted() < expected.total() or not collector.messages[letters]:
                assert time.monotonic() < deadline, worker.log()[-3000:]
                worker.check()
                collector.poll(0.5)
            collector.settle(reasons, quiet=3, timeout=30)
    finally:
        collector.close()

    counted()
    assert {key: ns[-1] for key, ns in latest.items()} == dict(expected)
    assert all(ns == sorted(set(ns)) for ns in latest.values()), "a count went down or repeated"
    dead = [orjson.loads(v) for _, v in collector.messages[letters]]
    assert [(d["stage"], d["source_partition"]) for d in dead] == [("stream.reasons", 2)]
    assert "JudgedPress" in dead[0]["error"]


def test_a_sigkilled_reasons_worker_counts_every_press_once_after_its_restart(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
) -> None:
    # Killed while presses flow, the worker has stored state (with its processed offsets) past
    # the group's committed offset: Faust commits once a second. The restarted worker is handed
    # those records again; the runner skips them by the stored processed offset, so no press is
    # counted twice, and none is lost. Counts may repeat (outputs flushed before a state write
    # the kill stopped: at-least-once), never go down.
    create_test_topics()
    accepted = topic_name(PRESSES_ACCEPTED, topic_prefix)
    reasons = topic_name(REASONS, topic_prefix)
    presses = judged_presses(3000, seed=5)
    expected = expected_counts(presses)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})

    def feed(part: list[tuple[int, JudgedPress]], per_second: float) -> None:
        for i, (partition, press) in enumerate(part):
            value = press.model_dump_json(exclude_none=True).encode()
            producer.produce(
                accepted, key=press.device_id.encode(), value=value, partition=partition
            )
            if per_second and i % 50 == 49:
                producer.flush(10)
                time.sleep(50 / per_second)
        assert producer.flush(30) == 0

    collector = Collector(kafka_bootstrap, [reasons])
    spec = "civicpulse.stream.stages.reasons.processor:ReasonsProcessor"
    try:
        feed(presses[:1000], 0)
        with processor_worker(spec, kafka_bootstrap, topic_prefix, tmp_path / "a") as worker:
            deadline = time.monotonic() + 90
            while len(collector.messages[reasons]) < 100:
                assert time.monotonic() < deadline, worker.log()[-3000:]
                worker.check()
                collector.poll(0.5)
            feed(presses[1000:2000], 1000)  # the worker counts these as they come
            worker.process.kill()
            worker.process.wait(10)
        feed(presses[2000:], 0)
        with processor_worker(spec, kafka_bootstrap, topic_prefix, tmp_path / "b") as worker:
            deadline = time.monotonic() + 120
            latest: dict[Key, list[int]] = {}
            while sum(ns[-1] for ns in latest.values()) < expected.total():
                assert time.monotonic() < deadline, worker.log()[-3000:]
                worker.check()
                collector.poll(0.5)
                latest = _latest(collector.messages[reasons])
            collector.settle(reasons, quiet=3, timeout=30)
    finally:
        collector.close()

    latest = _latest(collector.messages[reasons])
    assert {key: ns[-1] for key, ns in latest.items()} == dict(expected)
    assert all(ns == sorted(ns) for ns in latest.values()), "a count went down"


def _latest(messages: list[tuple[bytes | None, bytes]]) -> dict[Key, list[int]]:
    latest: dict[Key, list[int]] = {}
    for _, value in messages:
        count = ReasonCount.model_validate_json(value)
        key = (count.partition, count.department_id, count.hour_start, count.reason)
        latest.setdefault(key, []).append(count.n)
    return latest
