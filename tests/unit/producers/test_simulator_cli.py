"""``civicpulse simulate`` (to files) and ``civicpulse simulate evaluate``, in-process."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.simulator.cli import parse_duration, parse_rate, parse_speed, parse_start

runner = CliRunner()
FILES = ("catalogue.json", "labels.jsonl", "presses.jsonl", "scenario.json")


def _simulate(out: Path, *extra: str) -> None:
    args = ["simulate", "--duration", "3m", "--rate", "30/s", "--seed", "4", "--out", str(out)]
    result = runner.invoke(app, [*args, "--no-progress", *extra])
    assert result.exit_code == 0, result.output


def test_simulate_to_files_is_byte_identical_per_seed(tmp_path: Path) -> None:
    _simulate(tmp_path / "a")
    _simulate(tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    presses = (tmp_path / "a" / "presses.jsonl").read_bytes().splitlines()
    labels = [orjson.loads(x) for x in (tmp_path / "a" / "labels.jsonl").read_bytes().splitlines()]
    assert len(presses) == len(labels) == pytest.approx(30 * 180, rel=0.1)
    assert [x["line"] for x in labels] == list(range(1, len(labels) + 1))
    for line, label in zip(presses, labels, strict=True):
        if label["label"] != "malformed":
            assert orjson.loads(line)["event_id"] == label["event_id"]
    Catalogue.model_validate_json((tmp_path / "a" / "catalogue.json").read_bytes())
    scenario = orjson.loads((tmp_path / "a" / "scenario.json").read_bytes())
    assert sum(scenario["counts"].values()) == len(labels)


def test_evaluate_replays_the_run_and_prints_the_table(tmp_path: Path) -> None:
    _simulate(tmp_path)
    table = runner.invoke(app, ["simulate", "evaluate", "--labels", str(tmp_path / "labels.jsonl")])
    assert table.exit_code == 0, table.output
    assert "filter precision" in table.output and "network_retry" in table.output
    as_json = runner.invoke(
        app, ["simulate", "evaluate", "--labels", str(tmp_path / "labels.jsonl"), "--json"]
    )
    figures = orjson.loads(as_json.stdout)
    assert figures["labels"]["network_retry"]["rejected_share"] == 1.0
    assert figures["unmatched_labels"] == 0


def test_evaluate_without_presses_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_bytes(b'{"line":1,"event_id":null,"label":"honest"}\n')
    result = runner.invoke(
        app, ["simulate", "evaluate", "--labels", str(tmp_path / "labels.jsonl")]
    )
    assert result.exit_code == 2 and "--verdicts" in result.output


def test_paced_run_takes_event_time_over_speed(tmp_path: Path) -> None:
    began = time.monotonic()
    _simulate(tmp_path, "--duration", "20s", "--rate", "5/s", "--speed", "20x")
    assert time.monotonic() - began >= 0.8  # 20 s of event time at 20x


def test_bad_options_are_refused_with_a_hint(tmp_path: Path) -> None:
    for option, value in (("--rate", "fast"), ("--duration", "10 minutes"), ("--city", "paris"),
                          ("--speed", "warp"), ("--start", "2026-11-23T07:00:00")):  # fmt: skip
        result = runner.invoke(app, ["simulate", option, value, "--out", str(tmp_path)])
        assert result.exit_code == 2, (option, result.output)


def test_help_explains_options_with_examples() -> None:
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for word in ("--rate", "--duration", "--seed", "--start", "--to", "--speed", "Examples",
                 "evaluate"):  # fmt: skip
        assert word in result.output


def test_option_parsers() -> None:
    assert parse_rate("200/s") == 200 and parse_rate("12000/min") == 200
    assert parse_rate("7200/h") == 2 and parse_rate("3") == 3
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("500ms") == timedelta(milliseconds=500)
    assert parse_speed("max") is None and parse_speed("realtime") == 1 and parse_speed("10x") == 10
    assert parse_start("2026-11-23T08:00:00+01:00") == datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert abs(parse_start("now") - datetime.now(UTC)) < timedelta(seconds=5)
    for bad in ("0/s", "-1", "2/d"):
        with pytest.raises(typer.BadParameter):
            parse_rate(bad)
