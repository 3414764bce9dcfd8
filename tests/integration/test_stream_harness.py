"""The processor harness (``stream.testing``) runs a processor as a real worker, end to
end.

A trivial processor (``harness_processors.Echo``) is started by its import path: the worker
creates the output topic it declares (``harness.echo``, in no catalogue) and the one its start
asks for (``context.ensure_topics``: ``harness.late``), every record it reads
comes out once, in offset order per partition, a record its ``decode`` refuses is
dead-lettered under its name, the runner logs its verb, and leaving the block stops the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from civicpulse.infra.topics import TopicReport, list_topics
from civicpulse.schemas.topics import DEADLETTER, PRESSES_RAW, topic_name
from civicpulse.stream.testing import processor_worker

from .harness_processors import ECHO, LATE
from .stream_worker import Collector

pytestmark = pytest.mark.integration

#: presses.raw partitions written to, and how many records each
PARTITIONS, PER_PARTITION = (0, 3), 40


def test_the_harness_runs_a_processor_end_to_end(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
) -> None:
    create_test_topics()
    raw, echo = topic_name(PRESSES_RAW, topic_prefix), topic_name(ECHO, topic_prefix)
    assert echo not in list_topics(kafka_bootstrap, topic_prefix)  # not in the catalogue
    letters = topic_name(DEADLETTER, topic_prefix)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    sent: list[str] = []
    for partition in PARTITIONS:
        for offset in range(PER_PARTITION):
            value = "\u00e9t\u00e9" if offset == 7 else f"press {offset}"
            producer.produce(raw, value=value.encode(), partition=partition)
            if offset != 7:
                sent.append(f"{partition}:{offset}:{value.upper()}")
    assert producer.flush(30) == 0

    spec = "tests.integration.harness_processors:Echo"
    with processor_worker(spec, kafka_bootstrap, topic_prefix, tmp_path) as worker:
        # the worker creates the output its processor declares (Echo.outputs), as declared
        deadline = time.monotonic() + 60
        while echo not in (created := list_topics(kafka_bootstrap, topic_prefix)):
            assert time.monotonic() < deadline, worker.log()[-3000:]
            worker.check()
            time.sleep(0.5)
        assert created[echo] == ECHO.partitions
        # and the topic its start asked for, named at run time, with the worker's prefix
        late = topic_name(LATE, topic_prefix)
        while late not in (created := list_topics(kafka_bootstrap, topic_prefix)):
            assert time.monotonic() < deadline, worker.log()[-3000:]
            worker.check()
            time.sleep(0.5)
        assert created[late] == LATE.partitions
        collector = Collector(kafka_bootstrap, [echo, letters])
        try:
            deadline = time.monotonic() + 90
            while len(collector.messages[echo]) < len(sent) or not collector.messages[letters]:
                assert time.monotonic() < deadline, worker.log()[-3000:]
                worker.check()
                collector.poll(0.5)
            collector.settle(echo, quiet=3, timeout=30)
            log = worker.log()
        finally:
            collector.close()
    assert not worker.running()

    echoed = [v.decode() for _, v in collector.messages[echo]]
    for partition in PARTITIONS:  # partitions interleave; each one keeps its offset order
        mine = f"{partition}:"
        assert [e for e in echoed if e.startswith(mine)] == [s for s in sent if s.startswith(mine)]
    assert len(echoed) == len(sent)
    dead = [orjson.loads(v) for _, v in collector.messages[letters]]
    assert [(d["stage"], d["error"], d["source_offset"]) for d in dead] == [
        ("stream.echo", "not ASCII", 7),
        ("stream.echo", "not ASCII", 7),
    ]
    assert {d["source_partition"] for d in dead} == set(PARTITIONS)
    for partition in PARTITIONS:
        assert f"{raw}[{partition}]: echoing from offset 0" in log
