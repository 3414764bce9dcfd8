"""The RESULT line is a contract read by tools: its exact shape is pinned here."""

from __future__ import annotations

import re

from benchmarks.common import Figure, percentile

RESULT = re.compile(
    r"^RESULT (?P<name>\S+) value=(?P<value>[-0-9.e+]+) unit=(?P<unit>\S+) "
    r"baseline=(?P<baseline>[-0-9.e+]+|none) ratio=(?P<ratio>[-0-9.e+]+|none) "
    r"target=(?P<target>\S+) (?P<verdict>ok|short)$"
)


def test_result_line_with_baseline_parses_and_carries_the_ratio() -> None:
    line = Figure("stream_rate", 5000.0, "presses/s", ">=50% of passthrough", False, 12500.0).line()
    match = RESULT.match(line)
    assert match, line
    assert float(match["ratio"]) == 0.4
    assert match["verdict"] == "short"
    assert match["target"] == ">=50%_of_passthrough"


def test_result_line_without_baseline_says_none() -> None:
    match = RESULT.match(Figure("p95", 12.5, "ms", "<100ms", True).line())
    assert match and match["baseline"] == "none" and match["ratio"] == "none"
    assert match["verdict"] == "ok"


def test_percentile_interpolates() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert percentile(samples, 50) == 50.5
    assert percentile(samples, 95) == 95.05
    assert percentile([3.0], 99) == 3.0
