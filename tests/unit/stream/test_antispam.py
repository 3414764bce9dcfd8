"""decide(): each check of the contract, in order, with its boundaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from civicpulse.schemas.events import Verdict
from civicpulse.stream.catalogue.index import ResolvedPress
from civicpulse.stream.stages.antispam.decide import DeviceState, decide
from civicpulse.stream.stages.antispam.rules import DEFAULT_RULES, Rules

from .factory import new_id, press

TERMINAL = DEFAULT_RULES["terminal"]
WEB = DEFAULT_RULES["web"]
US = 1e-6  # one microsecond, in seconds


def run(presses: list[ResolvedPress], rules: Rules = TERMINAL) -> list[Verdict]:
    state = DeviceState()
    verdicts: list[Verdict] = []
    for item in presses:
        state, verdict = decide(state, item, rules)
        verdicts.append(verdict)
    return verdicts


def test_unknown_device_and_activity_boundaries() -> None:
    retired = datetime(2026, 6, 1, tzinfo=UTC)
    assert run([press(0, device="nope")]) == ["unknown_device"]
    assert run([press(datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC))]) == ["unknown_device"]
    assert run([press(datetime(2026, 1, 1, tzinfo=UTC))]) == ["counted"]  # active_from <= t
    # At retired_at the first entry is over, and the second entry (another site) starts.
    item = press(retired)
    assert item.site_id == "site-b"
    assert run([press(retired - timedelta(microseconds=1))]) == ["counted"]


def test_unknown_device_leaves_state_untouched() -> None:
    state = DeviceState()
    state, verdict = decide(state, press(0, device="nope"), TERMINAL)
    assert verdict == "unknown_device"
    assert state == DeviceState()


def test_duplicate_is_checked_before_clock_skew() -> None:
    eid = new_id()
    first = press(0, event_id=eid)
    resent_skewed = press(0, received=10 * 86_400, event_id=eid)  # 10 days late
    assert run([first, resent_skewed]) == ["counted", "duplicate"]


def test_clock_skewed_press_records_its_id() -> None:
    eid = new_id()
    skewed = press(0, received=8 * 86_400, event_id=eid)
    assert run([skewed, press(0, event_id=eid)]) == ["clock_skew", "duplicate"]


def test_clock_skew_boundaries_are_strict() -> None:
    future, delay = 300.0, 7 * 86_400.0
    assert run([press(future, received=0)]) == ["counted"]
    assert run([press(future + US, received=0)]) == ["clock_skew"]
    assert run([press(0, received=delay)]) == ["counted"]
    assert run([press(0, received=delay + US)]) == ["clock_skew"]


def test_repeat_is_measured_from_the_last_counted_press() -> None:
    presses = [press(0), press(4.999999), press(5), press(9), press(10)]
    assert run(presses) == ["counted", "repeat", "counted", "repeat", "counted"]


def test_repeat_gap_zero_never_repeats() -> None:
    rules = replace(TERMINAL, repeat_gap=timedelta(0), burst_max=0)
    assert run([press(0), press(0), press(0)], rules) == ["counted"] * 3


def test_burst_counts_presses_of_any_verdict_after_check_three() -> None:
    # Seven presses within 20 s: the 7th is more than burst_max=6 (repeats count too).
    presses = [press(s) for s in (0, 1, 2, 3, 4, 5, 6)]
    assert run(presses) == ["counted", "repeat", "repeat", "repeat", "repeat", "counted", "burst"]


def test_burst_ignores_unknown_duplicate_and_skewed_presses() -> None:
    eid = new_id()
    presses = [press(0, event_id=eid), press(1, event_id=eid)]  # 1 real + 1 duplicate
    presses += [press(2, received=10 * 86_400) for _ in range(3)]  # skewed
    presses += [press(3, device="nope")]
    presses += [press(s) for s in (6, 7, 8, 9, 10)]  # 6 real presses in the window so far
    assert run(presses)[-1] == "repeat"
    assert run([*presses, press(11)])[-1] == "burst"


def test_burst_window_is_half_open_at_its_start() -> None:
    # Presses at 0..5 s and one exactly 20 s after the first: the first is outside the window.
    at_edge = [press(s) for s in (0, 1, 2, 3, 4, 5, 20)]
    assert run(at_edge)[-1] == "counted"
    inside = [press(s) for s in (0, 1, 2, 3, 4, 5, 20 - US)]
    assert run(inside)[-1] == "burst"


def test_burst_stays_while_presses_come_closer_than_burst_quiet() -> None:
    burst = [press(s) for s in (0, 1, 2, 3, 4, 5, 6)]
    # 59.999999 s after the previous press: still in burst; then 60 s after: judged normally.
    follow = [press(6 + 60 - US), press(6 + 60 - US + 60)]
    assert run(burst + follow)[-2:] == ["burst", "counted"]


def test_burst_quiet_is_measured_from_the_previous_press_not_the_burst_start() -> None:
    burst = [press(s) for s in (0, 1, 2, 3, 4, 5, 6)]
    trickle = [press(6 + 50 * k) for k in range(1, 6)]  # every 50 s < 60 s: burst continues
    assert run(burst + trickle)[-5:] == ["burst"] * 5


def test_press_ending_a_burst_is_judged_normally_including_the_window() -> None:
    # burst_quiet shorter than the window: a press that ends the burst can re-enter it.
    rules = replace(
        TERMINAL,
        burst_max=2,
        burst_window=timedelta(seconds=30),
        burst_quiet=timedelta(seconds=5),
        repeat_gap=timedelta(0),
    )
    verdicts = run([press(s) for s in (0, 1, 2, 7, 40)], rules)
    assert verdicts == ["counted", "counted", "burst", "burst", "counted"]


def test_burst_max_zero_turns_the_rule_off() -> None:
    rules = replace(TERMINAL, burst_max=0, repeat_gap=timedelta(0))
    assert run([press(s / 10) for s in range(50)], rules) == ["counted"] * 50


def test_out_of_order_press_far_before_the_last_counted_is_not_a_repeat() -> None:
    # A buffered press an hour older than the last counted one is not "within" it...
    assert run([press(3600), press(0)]) == ["counted", "counted"]
    # ...but one 2 s older is (two counted presses 2 s apart would be a double press).
    assert run([press(3600), press(3598)]) == ["counted", "repeat"]


def test_out_of_order_presses_count_toward_the_burst_window_by_distance() -> None:
    presses = [press(s) for s in (10, 9, 8, 7, 6, 5)]
    assert run([*presses, press(11)])[-1] == "burst"
    assert run([*presses, press(30)])[-1] == "counted"  # 30-10 = 20: outside


def test_visitor_limit_per_visitor_and_question() -> None:
    start = datetime(2026, 3, 4, tzinfo=UTC)  # question q2 all along
    day, second, micro = timedelta(days=1), timedelta(seconds=1), timedelta(microseconds=1)
    a, b = "visitor-aaaa", "visitor-bbbb"
    presses = [
        press(start, device="w1", visitor=a),
        press(start + second, device="w1", visitor=a),  # same visitor, same question: limit
        press(start + second, device="w1", visitor=b),  # another visitor: counted (repeat_gap 0)
        press(start + day - micro, device="w1", visitor=a),  # still within 24 h
        press(start + day, device="w1", visitor=a),  # exactly 24 h later: not within
    ]
    assert run(presses, WEB) == ["counted", "visitor_limit", "counted", "visitor_limit", "counted"]


def test_visitor_limit_is_per_question() -> None:
    switch = datetime(2026, 3, 3, tzinfo=UTC)  # the web device's question becomes q2
    before = press(switch - timedelta(seconds=1), device="w1", visitor="visitor-aaaa")
    after = press(switch, device="w1", visitor="visitor-aaaa")
    assert (before.question_id, after.question_id) == ("q1", "q2")
    assert run([before, after], WEB) == ["counted", "counted"]


def test_verdicts_are_final_and_rejected_presses_do_not_refresh_the_repeat_gap() -> None:
    # Repeats at 3 and 6 do not push the next counted press beyond 5 s after the counted one.
    assert run([press(0), press(3), press(5)]) == ["counted", "repeat", "counted"]
