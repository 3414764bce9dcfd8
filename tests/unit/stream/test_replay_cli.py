"""`civicpulse replay` against the sample files, checking the output contract line by line."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from civicpulse.cli import app

DATA = Path(__file__).parents[2] / "data"
KEYS = ["event_id", "verdict", "device_id", "site_id", "department_id", "question_id"]
TH = ("town-hall-1", "civil-affairs")


def eid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# One row per input line of tests/data/presses.jsonl, worked out from the contract by hand:
# (event number, verdict, device, site, department, question) or ("deadletter", line number).
EXPECTED: list[tuple[object, ...]] = [
    (1, "counted", "th-desk-1", *TH, "q-service"),
    (2, "repeat", "th-desk-1", *TH, "q-service"),  # 9.999 s < the site's 10 s repeat_gap
    (3, "counted", "th-desk-1", *TH, "q-wait"),  # exactly 10 s; the question switched at 08:00
    (1, "duplicate", "th-desk-1", *TH, "q-service"),
    ("deadletter", 5),  # truncated JSON
    (6, "unknown_device", "ghost-1", None, None, None),
    (7, "unknown_device", "lib-desk-1", None, None, None),  # pressed exactly at retired_at
    (8, "counted", "lib-desk-1", "library-1", "culture", "q-service"),
    (9, "clock_skew", "th-desk-1", *TH, "q-wait"),  # 1 ms beyond max_future
    (10, "counted", "th-desk-1", *TH, "q-wait"),  # exactly max_future ahead: accepted
    ("deadletter", 11),  # web press without visitor
    (12, "counted", "web-1", "web-portal", "civil-affairs", "q-service"),
    (13, "visitor_limit", "web-1", "web-portal", "civil-affairs", "q-service"),
    (14, "counted", "web-1", "web-portal", "civil-affairs", "q-service"),
    ("deadletter", 15),  # blank line
    (16, "counted", "th-staff-1", *TH, "q-mood"),
    (17, "counted", "th-staff-1", *TH, "q-mood"),
    (18, "repeat", "th-staff-1", *TH, "q-mood"),
    (19, "repeat", "th-staff-1", *TH, "q-mood"),
    (20, "repeat", "th-staff-1", *TH, "q-mood"),
    (21, "repeat", "th-staff-1", *TH, "q-mood"),
    (22, "repeat", "th-staff-1", *TH, "q-mood"),
    (23, "burst", "th-staff-1", *TH, "q-mood"),  # 7th press within 20 s
    (24, "burst", "th-staff-1", *TH, "q-mood"),  # 24 s after the previous: < burst_quiet
    (25, "counted", "th-staff-1", *TH, "q-mood"),  # exactly 60 s quiet: burst over
]


def run(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["replay", *args])
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_replay_output_contract_line_by_line() -> None:
    rows = run(
        str(DATA / "presses.jsonl"),
        "--catalogue",
        str(DATA / "catalogue.json"),
        "--rules",
        str(DATA / "rules.toml"),
    )
    assert len(rows) == len(EXPECTED)
    for row, expected in zip(rows, EXPECTED, strict=True):
        if expected[0] == "deadletter":
            assert list(row) == ["line", "verdict", "error"]
            assert (row["verdict"], row["line"]) == expected
            assert isinstance(row["error"], str) and row["error"]
        else:
            n, *rest = expected
            assert list(row) == KEYS
            assert [row[k] for k in KEYS] == [eid(int(str(n))), *rest]


def test_without_rules_the_builtin_defaults_apply() -> None:
    rows = run(str(DATA / "presses.jsonl"), "--catalogue", str(DATA / "catalogue.json"))
    # Built-in repeat_gap is 5 s, not the town hall's 10 s: the 9.999 s press now counts.
    assert rows[1]["verdict"] == "counted"


def test_bad_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.json"
    bad.write_text('{"devices": [{"device_id": "x"}]}')
    result = CliRunner().invoke(
        app, ["replay", str(DATA / "presses.jsonl"), "--catalogue", str(bad)]
    )
    assert result.exit_code == 2
    assert "is not valid" in result.output
