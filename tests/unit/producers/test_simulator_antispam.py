"""Do the labels match what anti-spam finds? A simulated hour through the replay code path.

The same path as ``civicpulse replay``: ``Judge`` + ``MemoryStore`` + the default ``RuleBook``.
Patterns the rules catch by construction must be caught almost entirely, and honest presses
rarely rejected (contract behaviour). The filter's blind spots (staff rating their own desk
every 10-30 s, honest presses judged ``burst`` on busy desks) are weaknesses, not contract: they
are measured by ``benchmarks/misuse.py`` (``benchmarks/misuse_filter.py``) instead of asserted.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from rich.console import Console

from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.evaluate import Evaluation, evaluate
from civicpulse.simulator.generate import Simulation
from civicpulse.simulator.report import print_evaluation
from civicpulse.stream.cli.replay import replay
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

START = datetime(2026, 11, 23, 7, tzinfo=UTC)


def _judge_an_hour(seed: int) -> Evaluation:
    sim = Simulation(PRESETS["demo"], START, timedelta(hours=1), 15.0, seed)
    presses = list(sim.presses())
    lines = io.BytesIO(b"".join(p.line + b"\n" for p in presses))
    out = io.BytesIO()
    replay(lines, Judge(sim.catalogue(), RuleBook.defaults(), MemoryStore()), out)
    verdicts = [orjson.loads(line) for line in out.getvalue().splitlines()]
    labels = [
        {"line": n, "event_id": p.event_id, "label": p.label} for n, p in enumerate(presses, 1)
    ]
    return evaluate(labels, verdicts)


@pytest.fixture(scope="module")
def result() -> Evaluation:
    return _judge_an_hour(seed=5)


def test_deterministic_patterns_are_caught(result: Evaluation) -> None:
    report = io.StringIO()
    print_evaluation(result, Console(file=report, width=140))
    print(report.getvalue())  # the figures, for `pytest -s`
    assert result.unmatched_labels == result.unmatched_verdicts == 0
    for label in ("network_retry", "wrong_clock", "unknown_device", "visitor_repeat"):
        assert result.rejected_share(label) == 1.0, label
    assert result.by_label["network_retry"]["duplicate"] == result.total("network_retry")
    assert result.by_label["wrong_clock"]["clock_skew"] == result.total("wrong_clock")
    assert result.by_label["malformed"]["deadletter"] == result.total("malformed")
    # A child's first press of a burst looks like anyone's: it is counted, the rest is not.
    share = result.rejected_share("child_burst")
    assert share is not None and share >= 0.9


def test_honest_presses_are_rarely_rejected(result: Evaluation) -> None:
    false_positives = result.rejected_share("honest")
    assert false_positives is not None and false_positives < 0.005
    assert result.precision is not None and result.precision > 0.95
