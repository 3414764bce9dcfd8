"""The demo's one parseable summary line."""

from __future__ import annotations

import re

from civicpulse.demo_summary import DemoSummary, summary_line

LINE = re.compile(
    r"SUMMARY presses_sent=(\d+) presses_stored=(\d+) counted=(\d+) rejected=(\d+) "
    r"score_windows=(\d+) alerts=(\d+) precision=([0-9.]+|none) recall=([0-9.]+|none) "
    r"verify=(ok|failed)"
)


def test_the_summary_line_adds_up_the_rejections_and_parses() -> None:
    summary = DemoSummary(
        presses_sent=900, presses_stored=880, counted=800,
        rejected_by_reason={"burst": 50, "repeat": 30}, score_windows=120, alerts=1,
        precision=0.9512, recall=None, verify_ok=True,
    )  # fmt: skip
    match = LINE.fullmatch(summary_line(summary))
    assert match is not None
    assert match.groups() == ("900", "880", "800", "80", "120", "1", "0.951", "none", "ok")


def test_a_failed_verification_says_failed() -> None:
    line = summary_line(DemoSummary(presses_sent=1, presses_stored=1, counted=1))
    assert line.endswith("verify=failed")
