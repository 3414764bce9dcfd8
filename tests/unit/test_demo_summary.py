"""The demo's one parseable summary line."""

from __future__ import annotations

import re

from civicpulse.demo.summary import DemoSummary, summary_line

LINE = re.compile(
    r"SUMMARY presses_sent=(\d+) presses_stored=(\d+) redelivered=(\d+) deadlettered=(\d+) "
    r"unaccounted=(-?\d+) counted=(\d+) rejected=(\d+) "
    r"score_windows=(\d+) alerts=(\d+) precision=([0-9.]+|none) recall=([0-9.]+|none) "
    r"verify=(ok|failed)"
)


def test_the_summary_line_adds_up_the_rejections_and_parses() -> None:
    summary = DemoSummary(
        presses_sent=900, presses_stored=880, counted=800,
        rejected_by_reason={"burst": 50, "repeat": 30}, score_windows=120, alerts=1,
        precision=0.9512, recall=None, verify_ok=True, redelivered=9, deadlettered=11,
    )  # fmt: skip
    match = LINE.fullmatch(summary_line(summary))
    assert match is not None
    assert match.groups() == (
        "900", "880", "9", "11", "0", "800", "80", "120", "1", "0.951", "none", "ok",
    )  # fmt: skip


def test_what_is_neither_stored_resent_nor_dead_lettered_is_unaccounted() -> None:
    summary = DemoSummary(presses_sent=100, presses_stored=90, counted=80, redelivered=3,
                          deadlettered=4)  # fmt: skip
    assert summary.unaccounted == 3
    assert "unaccounted=3" in summary_line(summary)


def test_a_failed_verification_says_failed() -> None:
    line = summary_line(DemoSummary(presses_sent=1, presses_stored=1, counted=1))
    assert line.endswith("verify=failed")
