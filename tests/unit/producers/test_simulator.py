"""The pure generator: determinism, arrival order, labels, validity, the city's ground truth."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import mean

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from civicpulse.schemas.events import PressEvent
from civicpulse.simulator.city import PRESETS, to_ms
from civicpulse.simulator.generate import (
    MIN_GAP_MS,
    SimulatedPress,
    Simulation,
    format_ms,
    generate,
)
from civicpulse.simulator.plan import LABELS
from civicpulse.simulator.staff import MIN_STAFF_GAP_MS

START = datetime(2026, 11, 23, 7, tzinfo=UTC)  # Monday 08:00 Warsaw
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def hour() -> tuple[Simulation, list[SimulatedPress]]:
    sim = Simulation(PRESETS["demo"], START, timedelta(hours=1), 20.0, seed=11)
    return sim, list(sim.presses())


def _ms(text: str) -> int:
    return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_same_seed_gives_identical_bytes_other_seed_does_not() -> None:
    def run(seed: int) -> list[tuple[bytes, bytes, str]]:
        presses = generate(PRESETS["demo"], START, timedelta(minutes=10), 50.0, seed)
        return [(p.line, p.key, p.label) for p in presses]

    first, second = run(7), run(7)
    assert first == second and len(first) > 20_000
    assert run(8) != first


def test_presses_come_in_arrival_order_keyed_by_device(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    _, presses = hour
    arrivals = [p.arrival_ms for p in presses]
    assert arrivals == sorted(arrivals)
    for press in presses:
        assert press.key == press.device_id.encode()
        if press.label != "malformed":
            assert _ms(orjson.loads(press.line)["received_at"]) == press.arrival_ms


def test_every_label_is_present_in_an_hour(hour: tuple[Simulation, list[SimulatedPress]]) -> None:
    sim, presses = hour
    seen = {p.label for p in presses}
    assert seen == set(LABELS)
    assert sim.counts == {label: sum(p.label == label for p in presses) for label in seen}
    # The dishonest patterns stay a small share of the traffic.
    assert sim.counts["honest"] / len(presses) > 0.9


def test_mean_rate_is_the_requested_rate(hour: tuple[Simulation, list[SimulatedPress]]) -> None:
    _, presses = hour
    assert len(presses) == pytest.approx(20 * 3600, rel=0.08)


def test_presses_validate_as_press_events_except_the_malformed(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    _, presses = hour
    for press in presses:
        if press.label == "malformed":
            with pytest.raises(ValidationError):
                PressEvent.model_validate_json(press.line)
            continue
        event = PressEvent.model_validate_json(press.line)
        assert str(event.event_id) == press.event_id and event.device_id == press.device_id
        if event.channel == "web":
            assert event.visitor is not None and HEX32.match(event.visitor)
        else:
            assert event.visitor is None


def test_terminals_press_only_while_their_site_is_open(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    sim, presses = hour
    devices = {d.device_id: d for d in sim.city.devices}
    checked = 0
    for press in presses:
        device = devices.get(press.device_id)
        # wrong_clock presses carry a wrong time, unknown devices have no site: skip those.
        if device is None or device.role == "web" or press.label in ("wrong_clock", "malformed"):
            continue
        pressed = _ms(orjson.loads(press.line)["pressed_at"])
        assert sim.city.is_open(device, pressed), press.line
        checked += 1
    assert checked > 1000


def test_honest_terminal_presses_respect_the_service_gap(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    _, presses = hour
    times: dict[str, list[int]] = defaultdict(list)
    for press in presses:
        if press.label != "honest":
            continue
        record = orjson.loads(press.line)
        if record["channel"] == "terminal":
            times[press.device_id].append(_ms(record["pressed_at"]))
    gaps = [b - a for ts in times.values() for a, b in pairwise(sorted(ts))]
    assert gaps and min(gaps) >= MIN_GAP_MS - 1


def test_ingest_delay_is_small_except_after_an_outage(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    sim, presses = hour
    flushed = 0
    for press in presses:
        if press.label not in ("honest", "child_burst", "staff_self_rating"):
            continue
        record = orjson.loads(press.line)
        pressed, received = _ms(record["pressed_at"]), _ms(record["received_at"])
        delay = received - pressed
        assert delay >= 0
        if delay > 6_000:
            windows = sim.plan.outages.get(press.device_id, [])
            assert any(a <= pressed < b and received >= b for a, b in windows), press.line
            flushed += 1
    assert flushed > 0  # a terminal came back online and flushed its buffer


def test_network_retries_resend_an_earlier_press_later(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    _, presses = hour
    first: dict[str, dict[str, object]] = {}
    for press in presses:
        record = orjson.loads(press.line) if press.label != "malformed" else None
        if press.label == "network_retry":
            assert record is not None and press.event_id in first
            original = first[press.event_id]
            assert {k: v for k, v in record.items() if k != "received_at"} == {
                k: v for k, v in original.items() if k != "received_at"
            }
            assert str(record["received_at"]) > str(original["received_at"])
        elif press.event_id is not None and record is not None:
            first.setdefault(press.event_id, record)


def test_patterns_look_like_what_they_are(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    sim, presses = hour
    catalogue = sim.catalogue()
    by_label: dict[str, list[dict[str, object]]] = defaultdict(list)
    for press in presses:
        if press.label != "malformed":
            by_label[press.label].append(orjson.loads(press.line))
    for record in by_label["wrong_clock"]:
        skew = _ms(str(record["received_at"])) - _ms(str(record["pressed_at"]))
        assert skew < -5 * 60_000 or skew > 86_400_000
    for record in by_label["unknown_device"]:
        pressed = datetime.fromisoformat(str(record["pressed_at"]).replace("Z", "+00:00"))
        assert catalogue.device_at(str(record["device_id"]), pressed) is None
    staff: set[tuple[str, int]] = set()
    for record in by_label["staff_self_rating"]:
        assert record["button"] in (3, 4)
        staff.add((str(record["device_id"]), _ms(str(record["pressed_at"]))))
    # each staff episode's presses are those of its drawn style (simulator_staff), none faster
    # than a hand, on an open desk; the hour holds every one that started early enough
    planned: set[tuple[str, int]] = set()
    for episode in (e for e in sim.plan.episodes if e.label == "staff_self_rating"):
        times = [episode.start_ms + t for t, *_ in episode.presses()]
        assert all(b - a >= MIN_STAFF_GAP_MS for a, b in pairwise(times))
        planned.update((episode.device_id, t) for t in times if t < sim.end_ms)
    assert staff and staff <= planned
    child: dict[str, list[int]] = defaultdict(list)
    for record in by_label["child_burst"]:
        child[str(record["device_id"])].append(_ms(str(record["pressed_at"])))
    short = [b - a for ts in child.values() for a, b in pairwise(ts) if b - a < 5_000]
    assert short and all(290 <= g <= 1_510 for g in short)
    visitors: dict[str, int] = defaultdict(int)
    for record in by_label["visitor_repeat"]:
        visitors[str(record["visitor"])] += 1
    honest_visitors = {r["visitor"] for r in by_label["honest"] if "visitor" in r}
    assert set(visitors) <= honest_visitors  # each repeater's first press was honest


def test_degradation_lowers_that_departments_mean(
    hour: tuple[Simulation, list[SimulatedPress]],
) -> None:
    sim, presses = hour
    city = sim.city
    department = {d.device_id: d.department_id for d in city.devices if d.role != "staff"}
    buttons: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for press in presses:
        if press.label != "honest" or press.device_id not in department:
            continue
        record = orjson.loads(press.line)
        after = _ms(record["pressed_at"]) >= city.degrade_at_ms
        buttons[(department[press.device_id], after)].append(int(record["button"]))
    target = city.degraded_department
    drop = mean(buttons[(target, False)]) - mean(buttons[(target, True)])
    assert drop > 1.0
    for dep in {d.department_id for d in city.departments} - {target}:
        assert abs(mean(buttons[(dep, False)]) - mean(buttons[(dep, True)])) < 0.4


def test_scenario_names_the_ground_truth(hour: tuple[Simulation, list[SimulatedPress]]) -> None:
    sim, presses = hour
    scenario = orjson.loads(orjson.dumps(sim.scenario()))
    assert scenario["degradations"] == [
        {
            "department_id": sim.city.degraded_department,
            "from": format_ms(sim.city.degrade_at_ms),
            "mood_drop": 2.4,
            "surge_per_s": 0.0,
        }
    ]
    assert sum(scenario["counts"].values()) == len(presses)
    assert {e["label"] for e in scenario["episodes"]} >= {
        "child_burst", "staff_self_rating", "unknown_device", "visitor_repeat", "malformed",
        "wrong_clock",
    }  # fmt: skip


def test_bad_arguments_are_refused() -> None:
    from civicpulse.producers.exceptions import SimulationError

    with pytest.raises(SimulationError, match="time zone"):
        Simulation(PRESETS["demo"], datetime(2026, 11, 23, 7), timedelta(minutes=1), 1, 1)
    with pytest.raises(SimulationError, match="positive"):
        Simulation(PRESETS["demo"], START, timedelta(0), 1, 1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(1, 90),
    rate=st.floats(0.5, 30),
)
def test_any_run_is_ordered_valid_and_respects_opening_hours(
    seed: int, start: datetime, minutes: int, rate: float
) -> None:
    sim = Simulation(PRESETS["demo"], start, timedelta(minutes=minutes), rate, seed)
    devices = {d.device_id: d for d in sim.city.devices}
    last = -1
    for press in sim.presses():
        assert press.arrival_ms >= last
        last = press.arrival_ms
        if press.label == "malformed":
            continue
        event = PressEvent.model_validate_json(press.line)
        device = devices.get(event.device_id)
        if press.label != "wrong_clock" and device is not None and device.role != "web":
            assert sim.city.is_open(device, to_ms(event.pressed_at))
