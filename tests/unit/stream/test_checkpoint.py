"""The checkpoint's order: outputs acknowledged, then the state with the processed offset last.

``Outputs`` here is a recording stand-in for the producer (the real one is exercised by the
stream integration tests): what matters is the order of sends and flushes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from civicpulse.stream.framework.checkpoint import Checkpoint
from civicpulse.stream.framework.transaction import PartitionState, marker_key


class RecordingOutputs:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def send(
        self, topic: str, key: Any, value: Any, partition: int = -1, headers: Any = None
    ) -> None:
        self.calls.append(("send", topic, key))

    async def flush(self) -> None:
        self.calls.append(("flush",))


def test_outputs_are_flushed_before_the_state_and_the_marker_is_written_last() -> None:
    out = RecordingOutputs()
    data: dict[str, Any] = {}
    states: dict[int, PartitionState] = {}

    def state(partition: int) -> PartitionState:
        def send(key: str, value: Any) -> None:
            out.send("changelog", key, value, partition)

        return states.setdefault(partition, PartitionState(data, partition, send))

    checkpoint = Checkpoint(lambda: out, state)  # type: ignore[arg-type,return-value]
    checkpoint.processed(3, 41)
    checkpoint.processed(3, 42)
    checkpoint.transaction(3).set("k", 1)
    checkpoint.send("out", b"k", b"v")
    asyncio.run(checkpoint.commit())
    assert out.calls == [
        ("send", "out", b"k"),
        ("flush",),
        ("send", "changelog", "3|k"),
        ("send", "changelog", marker_key(3)),
        ("flush",),
    ]
    assert states[3].processed_offset == 42 and states[3].read("k") == 1


def test_a_tick_without_changes_writes_nothing_and_a_stateless_batch_only_flushes() -> None:
    out = RecordingOutputs()
    stateless = Checkpoint(lambda: out, None)  # type: ignore[arg-type,return-value]
    stateless.processed(0, 5)
    asyncio.run(stateless.commit())
    data: dict[str, Any] = {}
    tick = Checkpoint(lambda: out, lambda p: PartitionState(data, p, lambda k, v: None))  # type: ignore[arg-type,return-value]
    tick.transaction(0)
    asyncio.run(tick.commit())
    assert out.calls == [("flush",), ("flush",)] and data == {}
