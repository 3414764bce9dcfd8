"""Pairing labels with verdicts and the precision/recall arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from civicpulse.simulator.evaluate import evaluate


def test_positional_pairing_and_figures() -> None:
    labels: list[dict[str, Any]] = [
        {"line": 1, "event_id": "a", "label": "honest"},
        {"line": 2, "event_id": "b", "label": "honest"},
        {"line": 3, "event_id": "b", "label": "network_retry"},
        {"line": 4, "event_id": None, "label": "malformed"},
        {"line": 5, "event_id": "c", "label": "child_burst"},
        {"line": 6, "event_id": "d", "label": "child_burst"},
    ]
    verdicts: list[dict[str, Any]] = [
        {"event_id": "a", "verdict": "counted"},
        {"event_id": "b", "verdict": "repeat"},
        {"event_id": "b", "verdict": "duplicate"},
        {"line": 4, "verdict": "deadletter", "error": "invalid JSON"},
        {"event_id": "c", "verdict": "counted"},
        {"event_id": "d", "verdict": "burst"},
    ]
    result = evaluate(labels, verdicts)
    assert result.rejected_share("honest") == 0.5
    assert result.rejected_share("child_burst") == 0.5
    assert result.rejected_share("network_retry") == 1.0
    # Rejected: b(honest), b(retry), malformed, d(child) -> 3 of 4 dishonest.
    assert result.precision == pytest.approx(3 / 4)
    # Dishonest: retry, malformed, c, d -> 3 of 4 rejected.
    assert result.recall == pytest.approx(3 / 4)
    assert result.verdict_precision()["repeat"] == (1, 0.0)
    assert result.verdict_precision()["duplicate"] == (1, 1.0)
    assert "counted" not in result.verdict_precision()
    assert result.to_dict()["labels"]["honest"]["verdicts"] == {"counted": 1, "repeat": 1}


def test_event_id_pairing_when_orders_differ() -> None:
    labels: list[dict[str, Any]] = [
        {"line": 1, "event_id": "x", "label": "honest"},
        {"line": 2, "event_id": "y", "label": "honest"},
        {"line": 3, "event_id": "x", "label": "network_retry"},
        {"line": 4, "event_id": None, "label": "malformed"},
    ]
    # E.g. read back from presses.accepted/.rejected: another order, one verdict missing.
    verdicts: list[dict[str, Any]] = [
        {"event_id": "y", "verdict": "counted"},
        {"event_id": "x", "verdict": "counted"},
        {"event_id": "x", "verdict": "duplicate"},
        {"event_id": "zzz", "verdict": "counted"},
    ]
    result = evaluate(labels, verdicts)
    assert result.by_label["honest"] == {"counted": 2}
    assert result.by_label["network_retry"] == {"duplicate": 1}
    assert result.unmatched_verdicts == 1
    assert result.unmatched_labels == 1  # the malformed line has no dead letter here


def test_empty_inputs_give_no_figures() -> None:
    result = evaluate([], [])
    assert result.precision is None and result.recall is None and result.labels == []


def test_label_records_must_carry_a_label() -> None:
    with pytest.raises(ValueError, match="label"):
        evaluate([{"line": 1, "event_id": "a"}], [{"event_id": "a", "verdict": "counted"}])
