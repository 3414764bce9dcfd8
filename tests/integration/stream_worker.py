"""Helpers for the stream worker's integration tests: a worker subprocess, produce, collect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer, TopicPartition

from .readback import fresh_consumer

CIVICPULSE = Path(sys.executable).with_name("civicpulse")


@dataclass
class WorkerProcess:
    """``civicpulse stream worker`` in a subprocess, its log in a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def start_worker(
    bootstrap: str, prefix: str, data_dir: Path, *extra: str, name: str = "worker"
) -> WorkerProcess:
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP=bootstrap,
        CIVICPULSE_TOPIC_PREFIX=prefix,
        CIVICPULSE_DATA_DIR=str(data_dir),
        CIVICPULSE_CITY_TIMEZONE="Europe/Warsaw",
    )
    log = data_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            str(CIVICPULSE),
            "stream",
            "worker",
            "--tick",
            "1",
            "--loglevel",
            os.environ.get("STREAM_TEST_LOGLEVEL", "info"),
            *extra,
        ],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return WorkerProcess(process, log)


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    n = 0
    for key, value in records:
        producer.produce(topic, key=key, value=value)
        n += 1
    assert producer.flush(30) == 0
    return n


class Collector:
    """Reads topics from their start and keeps every message (topic -> list of (key, value))."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.consumer = fresh_consumer(bootstrap, "collector")
        self.consumer.subscribe(topics)
        self.messages: dict[str, list[tuple[bytes | None, bytes]]] = {t: [] for t in topics}

    def poll(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            message = self.consumer.poll(0.2)
            if message is not None and message.error() is None:
                self.messages[message.topic()].append((message.key(), message.value()))

    def until(self, done: Any, timeout: float, worker: WorkerProcess | None = None) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                log = worker.text()[-3000:] if worker else ""
                counts = {t: len(m) for t, m in self.messages.items()}
                raise AssertionError(f"timed out with {counts}; worker log tail:\n{log}")
            if worker is not None and worker.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{worker.text()[-3000:]}")
            self.poll(0.5)

    def settle(self, topic: str, quiet: float, timeout: float) -> None:
        """Poll until ``topic`` got no new message for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = len(self.messages[topic])
            self.poll(quiet)
            if len(self.messages[topic]) == before:
                return
        raise AssertionError(f"{topic} kept receiving messages for {timeout:.0f}s")

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [orjson.loads(v) for _, v in self.messages[topic]]

    def close(self) -> None:
        self.consumer.close()


def read_topic_in_order(bootstrap: str, topic: str) -> list[bytes]:
    """Every value of ``topic``, partition after partition, each in offset order."""
    consumer = fresh_consumer(bootstrap, "in-order")
    partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    out: list[bytes] = []
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        consumer.assign([TopicPartition(topic, p, low)])
        got = 0
        while got < high - low:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                out.append(message.value() or b"")
                got += 1
    consumer.close()
    return out
