"""The capacity benchmark's presses, alert timing and unmeasured figures (``benchmarks.e2e_*``)."""

from __future__ import annotations

import math
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

import orjson

from benchmarks.common import Figure
from benchmarks.e2e_latency import _measured
from benchmarks.e2e_pipeline import Arrivals, alert_latencies, step_presses
from tests.unit.test_benchmark_common import RESULT


def _values(step: int) -> list[dict[str, Any]]:
    return [orjson.loads(value) for _, value, _ in step_presses(step, 100.0, 3.0).records]


def _at(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_steps_continue_in_event_time_with_new_presses_and_visitors() -> None:
    first, second = _values(0), _values(1)
    assert len(first) == len(second) == 300
    # the second step starts after the first ended, and not a day later
    gap = _at(second[0]["received_at"]) - _at(first[-1]["received_at"])
    assert 0 < gap.total_seconds() < 15 * 60
    assert not {v["event_id"] for v in first} & {v["event_id"] for v in second}
    visitors = [{v["visitor"] for v in values if "visitor" in v} for values in (first, second)]
    assert visitors[0] and visitors[1] and not visitors[0] & visitors[1]
    # the same presses otherwise: devices and buttons in the same order
    assert [(v["device_id"], v["button"]) for v in first] == [
        (v["device_id"], v["button"]) for v in second
    ]


def test_a_retry_keeps_sharing_its_press_id() -> None:
    records = step_presses(0, 2000.0, 3.0).records
    ids = [event_id for _, _, event_id in records]
    assert all(orjson.loads(value)["event_id"] == i for (_, value, i) in records)
    assert len(set(ids)) < len(ids)  # the simulator's network retries are in a step this size


def test_an_alert_is_timed_from_the_press_that_closed_its_window() -> None:
    def press(event_id: str, received: str) -> tuple[str, str, str]:
        return "d", orjson.dumps({"received_at": received}).decode(), event_id

    records = [
        press("a", "2026-03-02T07:00:00.000Z"),
        press("b", "2026-03-02T07:17:00.000Z"),  # passes 07:15 + 2 min grace: it closes
        press("c", "2026-03-02T07:18:00.000Z"),
    ]
    sent = {"a": 1000.0, "b": 2000.0, "c": 3000.0}
    alerts = SimpleNamespace(
        values={
            "x:opened": {"window_end": "2026-03-02T07:15:00Z"},
            "old:opened": {"window_end": "2026-03-02T06:00:00Z"},  # closed by an earlier step
            "late:opened": {"window_end": "2026-03-02T08:00:00Z"},  # closed by no press here
        },
        seen={"x:opened": 2450.0, "old:opened": 1500.0, "late:opened": 3500.0},
    )
    latencies = alert_latencies(records, sent, cast(Arrivals, alerts), 120_000, 0.0)
    assert latencies == [450.0]
    # an alert closed during the warm-up is left out
    assert alert_latencies(records, sent, cast(Arrivals, alerts), 120_000, 2500.0) == []


def test_a_figure_the_run_could_not_measure_still_keeps_the_result_contract() -> None:
    unmeasured = Figure("e2e_press_to_alert_p99", math.nan, "ms", "p99 < 1000 ms", True, math.nan)
    match = RESULT.match(_measured(unmeasured).line())
    assert match and match["value"] == "0" and match["baseline"] == "none"
    assert match["verdict"] == "short" and "not_measured" in match["target"]
    measured = Figure("worker_cpu_us_per_press", 900.0, "us", "<= 1.5x", True, 700.0)
    assert _measured(measured) == measured
