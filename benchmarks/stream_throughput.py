"""Anti-spam stage throughput on one worker against the real broker, with its baselines.

Four runs over the same presses (the simulator's city, about 3 % dishonest patterns) on
``presses.raw`` (6 partitions):

1. the Faust worker (``civicpulse stream worker --stages antispam``), one process;
2. baseline: a raw confluent-kafka consume -> produce passthrough of the same messages;
3. baseline: the same filter (the project's ``Judge``, state in the quixstreams state store)
   as a quixstreams application;
4. context: Faust's ceiling, the worker's settings and batch shape with no judging
   (``benchmarks.faust_noop``): what any anti-spam stage on Faust's consumer can reach.

Throughput = outputs / (CreateTime of the last output - CreateTime of the first): start-up and
the consumer that reads the results do not count. Broker: ``KAFKA_BOOTSTRAP`` if set, else a
launcher broker in a temp dir, stopped at the end. Targets: Faust >= 50 % of the passthrough
and >= 1.5x quixstreams.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from benchmarks.common import Figure, broker, parser, report
from civicpulse.infra.topics import create_topics, ensure_topics
from civicpulse.producers.city import PRESETS
from civicpulse.producers.simulator import Simulation
from civicpulse.schemas.topics import CATALOGUE_DEVICES, PRESSES_RAW, TopicSpec, topic_name
from civicpulse.stream.catalogue import publish_catalogue

PRODUCER = {"enable.idempotence": True, "acks": "all", "linger.ms": 5, "compression.type": "lz4"}


class Meter:
    """Polls the output topics' end offsets: rate = outputs / (time done - time of the first).

    Message timestamps cannot be used: quixstreams copies the input's timestamp to its outputs.
    """

    def __init__(self, bootstrap: str, topics: list[str], expected: int) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
        self.parts = [
            TopicPartition(t, p)
            for t in topics
            for p in self.consumer.list_topics(t, timeout=10).topics[t].partitions
        ]
        self.expected = expected
        self.base = self._total()
        self.first: float | None = None
        self.done: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _total(self) -> int:
        return sum(self.consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in self.parts)

    def _run(self) -> None:
        while self.done is None:
            total = self._total() - self.base
            now = time.monotonic()
            if total > 0 and self.first is None:
                self.first = now
            if total >= self.expected:
                self.done = now
            time.sleep(0.05)

    def rate(self, timeout: float) -> float:
        self._thread.join(timeout)
        self.consumer.close()
        if self.done is None or self.first is None:
            raise RuntimeError(f"fewer than {self.expected} outputs within {timeout:.0f}s")
        return self.expected / max(self.done - self.first, 1e-3)


def faust_run(bootstrap: str, prefix: str, n: int, data_dir: Path) -> float:
    command = [str(Path(sys.executable).with_name("civicpulse")), "stream", "worker"]
    command += ["--stages", "antispam", "--loglevel", "warning"]
    outs = [f"{prefix}presses.accepted", f"{prefix}presses.rejected", f"{prefix}deadletter"]
    return _worker_rate(command, bootstrap, prefix, outs, n, data_dir)


def faust_noop_run(bootstrap: str, prefix: str, n: int, data_dir: Path) -> float:
    from benchmarks.faust_noop import OUTPUT

    ensure_topics(bootstrap, [TopicSpec(OUTPUT, 6, "device_id", "bytes", "bench")], prefix)
    command = [sys.executable, "-m", "benchmarks.faust_noop"]
    return _worker_rate(command, bootstrap, prefix, [prefix + OUTPUT], n, data_dir)


def _worker_rate(
    command: list[str], bootstrap: str, prefix: str, outs: list[str], n: int, data_dir: Path
) -> float:
    env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, CIVICPULSE_TOPIC_PREFIX=prefix)
    env["CIVICPULSE_DATA_DIR"] = str(data_dir)
    meter = Meter(bootstrap, outs, n)
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        return meter.rate(timeout=600)
    finally:
        worker.terminate()
        worker.wait(30)


def passthrough_run(bootstrap: str, prefix: str, n: int) -> float:
    out = f"{prefix}passthrough"
    ensure_topics(bootstrap, [TopicSpec("passthrough", 6, "device_id", "bytes", "bench")], prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{prefix}passthrough",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    consumer.subscribe([topic_name(PRESSES_RAW, prefix)])
    meter = Meter(bootstrap, [out], n)
    done = 0
    while done < n:
        batch = consumer.consume(2000, 1.0)
        for message in batch:
            if message.error() is None:
                while True:
                    try:
                        producer.produce(out, key=message.key(), value=message.value())
                        break
                    except BufferError:
                        producer.poll(0.01)
                done += 1
        producer.poll(0)
        if batch:
            producer.flush()  # outputs durable before the offsets, as in the stream
            consumer.commit(asynchronous=True)
    consumer.close()
    return meter.rate(timeout=120)


def quix_run(bootstrap: str, prefix: str, n: int, sim: Simulation, state_dir: Path) -> float:
    from quixstreams import Application

    from civicpulse.stream.app import judged_bytes
    from civicpulse.stream.judge import Judge
    from civicpulse.stream.rules import RuleBook

    out_name = f"{prefix}quix.out"
    ensure_topics(bootstrap, [TopicSpec("quix.out", 6, "device_id", "bytes", "bench")], prefix)
    index_judge = Judge(sim.catalogue(), RuleBook.defaults(), _NoStore())
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"{prefix}quix",
        auto_offset_reset="earliest",
        state_dir=str(state_dir),
        loglevel="WARNING",
        producer_extra_config={"linger.ms": 5, "compression.type": "lz4"},
    )
    source = app.topic(
        topic_name(PRESSES_RAW, prefix), key_deserializer="bytes", value_deserializer="bytes"
    )
    sink = app.topic(out_name, key_serializer="bytes", value_serializer="bytes")

    def judge(value: bytes, key: Any, timestamp: int, headers: Any, state: Any) -> bytes:
        # The same Judge as the worker, its state parts in the key-scoped quix state.
        judge = Judge(index_judge.index, index_judge.rulebook, _QuixStore(state))
        result = judge.judge(value)
        judge.flush()
        return result.encode() if isinstance(result, str) else judged_bytes(result)

    sdf = app.dataframe(source)
    sdf = sdf.apply(judge, stateful=True, metadata=True)
    sdf.to_topic(sink)
    meter = Meter(bootstrap, [out_name], n)
    app.run(count=n, timeout=30)
    return meter.rate(timeout=120)


class _NoStore:
    def get(self, key: str) -> Any:
        return None

    def set(self, key: str, value: Any) -> None:
        pass


class _QuixStore:
    def __init__(self, state: Any) -> None:
        self.state = state

    def get(self, key: str) -> Any:
        return self.state.get(key)

    def set(self, key: str, value: Any) -> None:
        if value is None:
            self.state.delete(key)
        else:
            self.state.set(key, value)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = 20_000 if args.quick else 200_000
    sim = Simulation(
        PRESETS["demo"], datetime(2026, 3, 2, 6, tzinfo=UTC), timedelta(hours=10), n / 36_000, 1
    )
    presses = list(sim.presses())
    n = len(presses)
    with broker() as bootstrap, tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        create_topics(bootstrap, prefix)
        publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), sim.catalogue())
        producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
        raw = topic_name(PRESSES_RAW, prefix)
        for press in presses:
            while True:
                try:
                    producer.produce(raw, key=press.key, value=press.line)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.flush(60)
        print(f"{n} presses on {raw} ({bootstrap})", flush=True)
        faust = faust_run(bootstrap, prefix, n, Path(tmp) / "faust")
        print(f"faust anti-spam: {faust:,.0f} presses/s", flush=True)
        passthrough = passthrough_run(bootstrap, prefix, n)
        print(f"confluent passthrough: {passthrough:,.0f} messages/s", flush=True)
        quix = quix_run(bootstrap, prefix, n, sim, Path(tmp) / "quix")
        print(f"quixstreams anti-spam: {quix:,.0f} presses/s", flush=True)
        ceiling = faust_noop_run(bootstrap, prefix, n, Path(tmp) / "noop")
        print(f"faust no-op (no judging): {ceiling:,.0f} presses/s", flush=True)
    report(
        [
            Figure(
                "stream_antispam_vs_passthrough",
                faust,
                "presses/s",
                ">=0.5x passthrough",
                faust >= 0.5 * passthrough,
                baseline=passthrough,
            ),
            Figure(
                "stream_antispam_vs_quixstreams",
                faust,
                "presses/s",
                ">=1.5x quixstreams",
                faust >= 1.5 * quix,
                baseline=quix,
            ),
            # Is the first target reachable on Faust at all? The same target for the no-op app.
            Figure(
                "stream_faust_noop_vs_passthrough",
                ceiling,
                "presses/s",
                ">=0.5x passthrough",
                ceiling >= 0.5 * passthrough,
                baseline=passthrough,
            ),
        ]
    )


if __name__ == "__main__":
    main()
