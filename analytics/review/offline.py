"""Offline misuse review: a presses file -> the presses the stream counts -> suspect periods.

The presses scanned are those the anti-spam judge counts (``Judge`` + ``MemoryStore`` +
``RuleBook``, exactly as ``civicpulse replay``), of citizen questions only. Why not every valid
press: verdicts are final, so a press already rejected is already misuse and needs no review;
duplicates (network retries) would count one press twice; clock-skewed presses carry a time
that is not when they were pressed (they would fake "outside opening hours"); unknown devices
have no site to compare with. Staff answering the employee question ("How was your day?")
are meant to press it. The live scan reads the same presses from ClickHouse (verdict
``counted``), so both sides scan the same set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

import orjson

from civicpulse.analytics.review.periods import ScanPress, Suspect
from civicpulse.schemas.catalogue import Catalogue, OpeningHours
from civicpulse.schemas.events import JudgedPress
from civicpulse.stream.catalogue.index import epoch_us
from civicpulse.stream.stages.antispam.judge import Judge

__all__ = ["scannable", "scanned", "site_hours", "write_suspects"]


def scannable(press: JudgedPress) -> ScanPress | None:
    """The press as the scan sees it, or None when the review leaves it out (see above)."""
    if (
        press.verdict != "counted"
        or press.question_kind == "employee"
        or press.site_id is None
        or press.department_id is None
    ):
        return None
    return ScanPress(
        event_id=str(press.event_id),
        device_id=press.device_id,
        channel=press.channel,
        site_id=press.site_id,
        department_id=press.department_id,
        at_ms=epoch_us(press.pressed_at) // 1000,
        button=press.button,
    )


def scanned(lines: Iterable[bytes], judge: Judge, errors: IO[str]) -> Iterator[ScanPress]:
    """Judge every line in input order (as replay does); yield the presses the review scans.

    A line that is not a valid PressEvent is skipped with ``line N: <reason>`` on ``errors``.
    """
    for number, line in enumerate(lines, start=1):
        outcome = judge.judge(line.rstrip(b"\r\n"), number)
        if isinstance(outcome, str):
            errors.write(f"line {number}: skipped, {outcome}\n")
            continue
        press = scannable(outcome)
        if press is not None:
            yield press
    judge.flush()


def site_hours(catalogue: Catalogue) -> dict[str, OpeningHours]:
    return {s.site_id: s.opening_hours for s in catalogue.sites if s.opening_hours is not None}


def write_suspects(suspects: Iterable[Suspect], out: IO[bytes]) -> int:
    written = 0
    for suspect in suspects:
        out.write(orjson.dumps(suspect.record()) + b"\n")
        written += 1
    out.flush()
    return written
