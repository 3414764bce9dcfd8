"""Anti-spam rules from TOML: defaults, per-channel values, per-site overrides, errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from civicpulse.stream.exceptions import RulesError
from civicpulse.stream.stages.antispam.rules import DEFAULT_RULES, RuleBook, parse_duration

DATA = Path(__file__).parents[2] / "data"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", timedelta(seconds=5)),
        ("0s", timedelta(0)),
        ("10m", timedelta(minutes=10)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("500ms", timedelta(milliseconds=500)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5s", timedelta(milliseconds=1500)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "s", "5 sec", "-5s", "5s10", "1w", "5S"])
def test_bad_durations_say_what_to_write(text: str) -> None:
    with pytest.raises(RulesError, match="bad duration"):
        parse_duration(text)


def test_the_design_example_file_gives_the_defaults_and_the_site_override() -> None:
    book = RuleBook.load(DATA / "rules.toml")
    assert book.for_press("terminal", None) == DEFAULT_RULES["terminal"]
    assert book.for_press("web", "town-hall-1") == DEFAULT_RULES["web"]
    town_hall = book.for_press("terminal", "town-hall-1")
    assert town_hall.repeat_gap == timedelta(seconds=10)
    assert town_hall.burst_max == 6 and town_hall.max_delay == timedelta(days=7)
    assert book.for_press("terminal", "elsewhere") == DEFAULT_RULES["terminal"]


def test_defaults_match_the_design_example() -> None:
    t, w = DEFAULT_RULES["terminal"], DEFAULT_RULES["web"]
    assert (t.repeat_gap, t.burst_max, t.burst_window, t.burst_quiet) == (
        timedelta(seconds=5),
        6,
        timedelta(seconds=20),
        timedelta(seconds=60),
    )
    assert (t.max_future, t.max_delay) == (timedelta(minutes=5), timedelta(days=7))
    assert (w.repeat_gap, w.burst_max, w.visitor_window) == (timedelta(0), 0, timedelta(hours=24))
    assert (w.max_future, w.max_delay) == (timedelta(minutes=5), timedelta(days=1))
    assert RuleBook.load(None).for_press("web", None) == w


def test_site_override_falls_back_to_the_files_channel_values_not_the_builtins() -> None:
    book = RuleBook.from_toml(
        '[terminal]\nrepeat_gap = "3s"\nburst_max = 2\n[sites.s1.terminal]\nburst_max = 9\n'
    )
    site = book.for_press("terminal", "s1")
    assert (site.repeat_gap, site.burst_max) == (timedelta(seconds=3), 9)
    assert site.burst_window == DEFAULT_RULES["terminal"].burst_window
    assert book.for_press("terminal", None).burst_max == 2


def test_microsecond_views_follow_the_durations() -> None:
    rules = RuleBook.from_toml('[terminal]\nrepeat_gap = "1500ms"\n').for_press("terminal", None)
    assert rules.repeat_gap_us == 1_500_000
    assert rules.max_delay_us == 7 * 86_400 * 1_000_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[terminal]\nrepeat_gapp = "5s"\n', "unknown rule"),
        ('[kiosk]\nrepeat_gap = "5s"\n', "unknown table"),
        ("[terminal]\nrepeat_gap = 5\n", "durations are strings"),
        ("[terminal]\nburst_max = -1\n", "burst_max must be >= 0"),
        ('[terminal]\nburst_max = "6"\n', "burst_max must be an integer"),
        ('[sites.s1.kiosk]\nrepeat_gap = "5s"\n', r"\[sites.s1.terminal\]"),
        ("[terminal\n", "not valid TOML"),
        ('[sites.s1.web]\nmax_delay = "soon"\n', r"sites\.s1\.web\] max_delay: bad duration"),
    ],
)
def test_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        RuleBook.from_toml(text)


def test_missing_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read rules file"):
        RuleBook.load(tmp_path / "absent.toml")
