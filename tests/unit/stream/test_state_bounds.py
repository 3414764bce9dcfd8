"""No anti-spam state record grows with a device's rate: every part stays a bounded record."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from civicpulse.stream.stages.antispam.decide import IDS_PER_PART, TIMES_PER_PART, VISITORS_PER_PART
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

from .factory import CATALOGUE, T0, event

#: the bound the stream promises for one changelog record (DESIGN.md: under 256 KiB)
RECORD_BOUND = 256 * 1024


class RecordingStore(MemoryStore):
    """A MemoryStore that remembers the largest value ever written, as its JSON size."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def set(self, key: str, value: object) -> None:
        if value is not None:
            self.largest = max(self.largest, len(orjson.dumps(value)))
        super().set(key, value)


@pytest.mark.parametrize("device", ["t1", "w1"])
def test_a_device_pressed_hundreds_of_times_a_second_keeps_every_record_bounded(
    device: str,
) -> None:
    # 30,000 presses of one device within one arrival hour (a web widget on a popular page, or
    # a terminal under a load test): ids, visitors and press times all far past one part's cap.
    store = RecordingStore()
    judge = Judge(CATALOGUE, RuleBook.defaults(), store)
    verdicts = set()
    for n in range(30_000):
        at = T0 + timedelta(milliseconds=100 * n)
        press = event(at, device=device, visitor=f"visitor-{n:08d}" if device == "w1" else None)
        verdicts.add(judge.judge_event(press, offset=n).verdict)
        if n % 2_000 == 1_999:
            judge.flush()
    judge.flush()
    assert store.largest < RECORD_BOUND
    parts = [key for key in store.values if "|s" in key]
    assert len(parts) >= 30_000 // IDS_PER_PART  # the ids really are spread over parts
    if device == "w1":
        assert verdicts == {"counted"}
        assert len([k for k in store.values if "|v" in k]) >= 30_000 // VISITORS_PER_PART
    else:
        assert "burst" in verdicts


def test_a_re_sent_press_is_a_duplicate_across_parts() -> None:
    store = MemoryStore()
    judge = Judge(CATALOGUE, RuleBook.defaults(), store)
    first = event(T0, device="w1", visitor="visitor-first")
    assert judge.judge_event(first, offset=0).verdict == "counted"
    for n in range(1, 3 * IDS_PER_PART):
        at = T0 + timedelta(milliseconds=n)
        judge.judge_event(event(at, device="w1", visitor=f"visitor-{n:08d}"), offset=n)
        if n % 500 == 0:
            judge.flush()
    judge.flush()
    assert judge.judge_event(first, offset=10**6).verdict == "duplicate"  # another delivery
    assert judge.judge_event(first, offset=0).verdict == "counted"  # the same message again


def test_press_times_of_one_hour_stop_at_the_cap() -> None:
    store = RecordingStore()
    judge = Judge(CATALOGUE, RuleBook.defaults(), store)
    for n in range(TIMES_PER_PART + 500):
        judge.judge_event(event(T0 + timedelta(milliseconds=100 * n)), offset=n)
    judge.flush()
    times = [v["t"] for k, v in store.values.items() if "|t" in k]
    assert max(len(t) for t in times) == TIMES_PER_PART
