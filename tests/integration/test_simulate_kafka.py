"""``civicpulse simulate --to kafka --speed max`` against the real broker."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from civicpulse.cli import app

from .readback import fresh_consumer

pytestmark = pytest.mark.integration


def test_simulate_lands_exactly_the_generated_presses(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate", "--to", "kafka", "--to", "file", "--speed", "max", "--duration", "2m",
            "--rate", "40/s", "--seed", "3", "--out", str(tmp_path), "--bootstrap",
            kafka_bootstrap, "--topic-prefix", topic_prefix, "--no-progress",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "presses.jsonl").read_bytes().splitlines()
    labels = [orjson.loads(x) for x in (tmp_path / "labels.jsonl").read_bytes().splitlines()]
    assert len(lines) == len(labels) > 3000

    messages = _read_raw(kafka_bootstrap, f"{topic_prefix}presses.raw", len(lines))

    assert len(messages) == len(lines)
    # The same (key, value) pairs, malformed lines included (they travel as they are).
    sent = Counter(
        (label["device_id"].encode(), line) for label, line in zip(labels, lines, strict=True)
    )
    assert Counter((key, value) for key, value, _ in messages) == sent
    # Key = device_id: each device's presses sit in one partition, in the order generated.
    per_device: dict[bytes, list[tuple[int, bytes]]] = {}
    for key, value, partition in messages:
        per_device.setdefault(key, []).append((partition, value))
    for key, entries in per_device.items():
        assert len({partition for partition, _ in entries}) == 1
        expected = [
            line
            for label, line in zip(labels, lines, strict=True)
            if label["device_id"].encode() == key
        ]
        assert [value for _, value in entries] == expected


def _read_raw(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes, int]]:
    """Every message as raw bytes (some are deliberately not JSON), waiting for ``expected``
    and then two seconds more so that extra messages would show up too."""
    consumer = fresh_consumer(bootstrap, "simulate-test")
    consumer.subscribe([topic])
    out: list[tuple[bytes, bytes, int]] = []
    deadline, settle = time.monotonic() + 90, None
    try:
        while time.monotonic() < deadline and (settle is None or time.monotonic() < settle):
            for msg in consumer.consume(1000, 0.5):
                if msg.error():
                    raise AssertionError(f"consumer error: {msg.error()}")
                out.append((msg.key(), msg.value(), msg.partition()))
            if len(out) >= expected and settle is None:
                settle = time.monotonic() + 2
    finally:
        consumer.close()
    return out
