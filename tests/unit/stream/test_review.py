"""Misuse review scan: one example per pattern, the thresholds file, the offline command."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from civicpulse.analytics.review.periods import ScanPress, scan
from civicpulse.analytics.review.rules import ReviewBook
from civicpulse.analytics.review.stats import binomial_tail, poisson_tail
from civicpulse.cli import app
from civicpulse.schemas.catalogue import OpeningHours
from civicpulse.stream.exceptions import RulesError
from civicpulse.stream.stages.antispam.rules import RuleBook

T0 = int(datetime(2026, 3, 2, 7, tzinfo=UTC).timestamp() * 1000)  # 08:00 in Warsaw (Monday)
MIN = 60_000


def _desk(device: str, rng: random.Random, start: int, end: int, mix: list[float],
          site: str = "s1", mean_gap: float = 150_000) -> list[ScanPress]:  # fmt: skip
    """An honest desk: a citizen every ``mean_gap`` ms on average (at least 6 s apart)."""
    out: list[ScanPress] = []
    t = start + rng.expovariate(1 / mean_gap)
    while t < end:
        button = rng.choices((1, 2, 3, 4), mix)[0]
        out.append(
            ScanPress(f"{device}-{len(out)}", device, "terminal", site, "d1", int(t), button)
        )
        t += 6_000 + rng.expovariate(1 / mean_gap)
    return out


def _staff(
    device: str, start: int, minutes: int, pace_s: float, button: int = 4
) -> list[ScanPress]:
    count = int(minutes * 60 / pace_s)
    return [
        ScanPress(
            f"{device}-staff-{i}",
            device,
            "terminal",
            "s1",
            "d1",
            start + int(i * pace_s * 1000),
            button,
        )
        for i in range(count)
    ]


MIX = [0.15, 0.2, 0.3, 0.35]


def _site(seed: int) -> list[ScanPress]:
    rng = random.Random(seed)
    return [p for n in (1, 2, 3) for p in _desk(f"desk-{n}", rng, T0, T0 + 8 * 60 * MIN, MIX)]


def test_staff_run_at_a_steady_pace_is_one_suspect_period_with_its_evidence() -> None:
    run = _staff("desk-1", T0 + 3 * 60 * MIN, minutes=10, pace_s=20)
    suspects = scan(_site(1) + run)
    runs = [s for s in suspects if s.pattern == "one_button_run"]
    assert len(runs) == 1
    period = runs[0]
    assert period.device_id == "desk-1"
    assert period.from_ms <= run[0].at_ms and period.to_ms >= run[-1].at_ms
    assert period.to_ms - period.from_ms < 15 * MIN  # no more than the run and its edges
    assert period.figures["button"] == "4"
    assert period.figures["button_presses"] >= len(run)
    assert "presses of button 4 (very happy)" in period.evidence
    assert "median 20 s" in period.evidence
    assert "(11:00:00-11:09:40 city time)" in period.evidence  # 10:00 UTC is 11:00 in Warsaw
    record = period.record()
    assert list(record)[:6] == ["device_id", "from", "to", "pattern", "presses", "evidence"]
    assert record["from"].endswith("Z") and len(record["from"]) == 24


def test_honest_site_alone_is_not_flagged() -> None:
    assert [s for s in scan(_site(2)) if s.pattern == "one_button_run"] == []


def test_same_run_on_every_desk_of_the_site_is_a_queue_not_one_desk() -> None:
    # A sudden crowd of happy citizens at every desk: the neighbours move too.
    crowd = [p for n in (1, 2, 3) for p in _staff(f"desk-{n}", T0 + 180 * MIN, 10, 20)]
    alone = scan(_site(3) + crowd[: len(crowd) // 3])
    together = scan(_site(3) + crowd)
    assert [s.device_id for s in alone if s.pattern == "one_button_run"] == ["desk-1"]
    assert len([s for s in together if s.pattern == "one_button_run"]) < 3


def test_one_sided_hour_when_neighbours_do_not_move() -> None:
    rng = random.Random(4)
    site = _site(4)
    hour = T0 + 4 * 60 * MIN
    site = [p for p in site if not (p.device_id == "desk-2" and hour <= p.at_ms < hour + 60 * MIN)]
    angry = _desk("desk-2", rng, hour, hour + 60 * MIN, [0.7, 0.3, 0, 0], mean_gap=150_000)
    found = [s for s in scan(site + angry) if s.pattern == "one_sided_hour"]
    assert [s.device_id for s in found] == ["desk-2"]
    assert "unhappy (1-2)" in found[0].evidence
    assert "between 12:" in found[0].evidence and "city time" in found[0].evidence  # 11 UTC
    # the whole site turning unhappy is a real change: nobody is singled out
    everyone = [
        p for p in site if not (hour <= p.at_ms < hour + 60 * MIN)
    ] + [p for n in (1, 2, 3) for p in _desk(f"desk-{n}", rng, hour, hour + 60 * MIN,
                                            [0.7, 0.3, 0, 0])]  # fmt: skip
    assert [s for s in scan(everyone) if s.pattern == "one_sided_hour"] == []


def test_a_change_that_stays_is_not_a_run_one_that_stops_is() -> None:
    # desk-1 turns to button 4 at 11:00 and stays so (a new clerk, a queue of happy
    # citizens): unusual against the hour before it, usual against the hour after it.
    rng = random.Random(6)
    turn = T0 + 4 * 60 * MIN
    site = [p for p in _site(6) if not (p.device_id == "desk-1" and p.at_ms >= turn)]
    stays = _desk("desk-1", rng, turn, T0 + 8 * 60 * MIN, [0.02, 0.03, 0.05, 0.9], mean_gap=20_000)
    assert [s for s in scan(site + stays) if s.pattern == "one_button_run"] == []
    # the same pace for 12 minutes only, then back to the usual desk: a run
    stops = [p for p in stays if p.at_ms < turn + 12 * MIN]
    after = [p for p in _site(6) if p.device_id == "desk-1" and p.at_ms >= turn + 12 * MIN]
    runs = [s for s in scan(site + stops + after) if s.pattern == "one_button_run"]
    assert [s.device_id for s in runs] == ["desk-1"]


def test_one_sided_hour_needs_someone_to_compare_with() -> None:
    # a lone device (nobody else in its site or department) cannot tell its own change from
    # its department's
    rng = random.Random(7)
    hour = T0 + 4 * 60 * MIN
    lone = [p for p in _desk("desk-1", rng, T0, T0 + 8 * 60 * MIN, MIX) if not (
        hour <= p.at_ms < hour + 60 * MIN)]  # fmt: skip
    angry = _desk("desk-1", rng, hour, hour + 60 * MIN, [0.7, 0.3, 0, 0], mean_gap=150_000)
    assert [s for s in scan(lone + angry) if s.pattern == "one_sided_hour"] == []


def test_outside_opening_hours_only_when_the_catalogue_has_them() -> None:
    rng = random.Random(5)
    night = T0 + 13 * 60 * MIN  # 21:00 in Warsaw
    late = _desk("desk-1", rng, night, night + 30 * MIN, MIX, mean_gap=120_000)
    presses = _site(5) + late
    hours = {"s1": OpeningHours(mon=("08:00-16:00",))}
    found = [s for s in scan(presses, hours=hours) if s.pattern == "outside_hours"]
    assert len(found) == 1 and found[0].presses == len(late)
    assert "while the site is closed" in found[0].evidence and "08:00-16:00" in found[0].evidence
    assert [s for s in scan(presses) if s.pattern == "outside_hours"] == []


def test_review_thresholds_per_channel_and_site() -> None:
    book = ReviewBook.from_toml(
        """
[terminal]
repeat_gap = "5s"
[review]
run_min_presses = 12
[review.web]
one_sided_hour = false
[review.sites.s1.terminal]
run_probability = 1e-9
run_windows = ["5m", "15m"]
"""
    )
    assert book.for_device("terminal", None).run_min_presses == 12
    assert book.for_device("web", "s1").one_sided_hour is False
    site = book.for_device("terminal", "s1")
    assert site.run_probability == 1e-9 and site.run_min_presses == 12
    assert [w.total_seconds() for w in site.run_windows] == [300, 900]
    # the anti-spam rules read the same file and leave [review] alone
    assert RuleBook.from_toml("[review]\nrun_min_presses = 12\n").for_press("web", None)
    with pytest.raises(RulesError, match="unknown key"):
        ReviewBook.from_toml("[review.terminal]\nrun_min_press = 3\n")
    with pytest.raises(RulesError, match="probability"):
        ReviewBook.from_toml("[review]\nrun_probability = 2\n")


def test_tail_probabilities() -> None:
    assert poisson_tail(3, 3.0) == pytest.approx(0.5768099, rel=1e-6)
    assert binomial_tail(5, 10, 0.5) == pytest.approx(0.623046875, rel=1e-9)
    assert poisson_tail(60, 5.0) < 1e-30 and poisson_tail(0, 1.0) == 1.0


def test_offline_command_scans_counted_presses_and_skips_bad_lines(tmp_path: Path) -> None:
    catalogue = {
        "devices": [{"device_id": "desk-1", "channel": "terminal", "site_id": "s1",
                     "department_id": "d1", "active_from": "2026-01-01T00:00:00Z"}],
        "sites": [{"site_id": "s1", "department_id": "d1", "name": "Desk hall",
                   "opening_hours": {"mon": ["08:00-16:00"]}}],
        "departments": [{"department_id": "d1", "name": "Civil"}],
        "questions": [],
    }  # fmt: skip
    rng = random.Random(6)
    presses = _desk("desk-1", rng, T0, T0 + 4 * 60 * MIN, MIX) + _staff(
        "desk-1", T0 + 120 * MIN, 10, 20
    )
    presses.sort(key=lambda p: p.at_ms)
    lines = []
    for n, p in enumerate(presses):
        stamp = datetime.fromtimestamp(p.at_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        lines.append(orjson.dumps({
            "event_id": f"00000000-0000-4000-8000-{n:012d}", "channel": "terminal",
            "device_id": "desk-1", "button": p.button, "pressed_at": stamp + "Z",
            "received_at": stamp + "Z"}))  # fmt: skip
    lines.insert(3, b'{"not": "a press"}')
    (tmp_path / "p.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "c.json").write_bytes(orjson.dumps(catalogue))
    args = ["review", "scan", str(tmp_path / "p.jsonl"), "--catalogue", str(tmp_path / "c.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "line 4: skipped" in result.stderr
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["pattern"] for r in records] == ["one_button_run"]
    assert {"device_id", "from", "to", "pattern", "presses", "evidence"} <= set(records[0])
    assert CliRunner().invoke(app, args).stdout == result.stdout  # deterministic
