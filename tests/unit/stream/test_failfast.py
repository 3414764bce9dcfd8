"""The failure ledger: suspects, the dead-letter threshold, and survival across restarts."""

from __future__ import annotations

from pathlib import Path

from civicpulse.stream.framework.failfast import FailureLedger

KEY = ("presses.raw", 2, 41)
OTHER = ("presses.raw", 2, 42)


def test_failures_survive_a_restart_and_exhaust_after_the_maximum(tmp_path: Path) -> None:
    path = tmp_path / "failures.json"
    for expected in (1, 2, 3):
        ledger = FailureLedger(path, max_failures=3)  # a new process each time
        assert not ledger.exhausted(KEY)
        ledger.record([KEY], RuntimeError("boom"))
        assert FailureLedger(path).failures(KEY) == expected
    ledger = FailureLedger(path, max_failures=3)
    assert ledger.exhausted(KEY)
    assert ledger.last_error(KEY) == "RuntimeError: boom"


def test_a_batch_with_a_suspect_is_suspect_and_clearing_forgets(tmp_path: Path) -> None:
    ledger = FailureLedger(tmp_path / "failures.json")
    assert not ledger.suspect([KEY, OTHER])
    ledger.record([KEY], ValueError("x"))
    assert ledger.suspect([OTHER, KEY])
    assert not ledger.suspect([OTHER])
    ledger.clear([KEY, OTHER])
    assert not ledger.suspect([KEY])
    assert FailureLedger(tmp_path / "failures.json").failures(KEY) == 0


def test_an_unreadable_ledger_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "failures.json"
    path.write_text("{not json")
    assert FailureLedger(path).failures(KEY) == 0
