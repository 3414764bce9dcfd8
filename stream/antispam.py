"""Anti-spam: the pure per-device decision ``decide(state, press, rules) -> (state, verdict)``.

Contract (DESIGN.md, Anti-spam), checks in this order, the first that fires is the verdict:
unknown_device, duplicate, clock_skew, burst, repeat, visitor_limit, counted.

Choices the contract leaves open, fixed here:

* ``press`` is a :class:`ResolvedPress`: the PressEvent plus its catalogue entry at
  ``pressed_at`` (None = unknown device). ``rules`` are the effective rules of the press's
  channel and site (``RuleBook.for_press``).
* All times are ``pressed_at`` (device clock) in integer microseconds.
* "Less than X after" and "within X" compare the absolute distance ``|t - u| < X`` (strict).
  For presses that arrive in time order this is exactly the contract's wording; when a device's
  clock or buffer makes ``pressed_at`` go backwards, a press far *before* the previous one is
  not "within" it (a clock corrected backwards must not turn the next hour into repeats).
* The device's *previous press* (burst) is the last press in arrival order that reached check 4
  (not unknown_device / duplicate / clock_skew). The burst window "ending at this press" holds
  the presses that reached check 4 (this one included) at a distance < burst_window from it,
  i.e. ``(t - burst_window, t]`` for in-order presses: a press exactly burst_window earlier is
  outside.
* An event id is "seen" once the press passes check 1: clock-skewed presses record their id,
  unknown-device presses do not (they leave the state untouched).
* ``decide`` updates the state in place and returns it (copying a week of ids per press would
  dominate the stream's cost); it does no I/O and depends on nothing but its arguments.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from typing import Any

from civicpulse.schemas.events import Verdict

from .enrich import ResolvedPress
from .exceptions import StreamError
from .rules import Rules

__all__ = ["MAX_IDS", "RETENTION_MARGIN_US", "DeviceState", "decide"]

# Pruning (bounded state). Let R be the newest received_at of the device's presses that passed
# check 3. A later press passes check 3 only if pressed_at >= received_at - max_delay. Assuming
# received_at (stamped at ingest) never falls more than RETENTION_MARGIN behind R on the
# device's partition, no later press can need an id, a burst time or a visitor entry whose
# pressed_at is older than R - (max_delay + max_future + MARGIN) (minus the burst or visitor
# window): dropping them cannot change a verdict. A re-sent press older than that is a
# clock_skew instead of a duplicate: rejected either way. MAX_IDS / MAX_TIMES cap a device that
# floods in spite of this (the oldest ids / press times are dropped first).
RETENTION_MARGIN_US = 3_600_000_000
SWEEP_EVERY_US = 3_600_000_000
MAX_IDS = 200_000
MAX_TIMES = 50_000
_STATE_VERSION = 1


@dataclass(slots=True)
class DeviceState:
    """Everything anti-spam remembers about one device; JSON-serialisable via to_dict."""

    seen: dict[str, int] = field(default_factory=dict)
    """event_id (hex) -> pressed_at, in arrival order."""
    times: list[int] = field(default_factory=list)
    """Sorted pressed_at of the presses that reached check 4 (burst window)."""
    last_press: int | None = None
    in_burst: bool = False
    last_counted: int | None = None
    visitors: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """visitor -> question_id ("" when none) -> pressed_at of that visitor's counted presses."""
    newest_received: int | None = None
    swept_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": _STATE_VERSION,
            "seen": dict(self.seen),
            "times": list(self.times),
            "last_press": self.last_press,
            "in_burst": self.in_burst,
            "last_counted": self.last_counted,
            "visitors": {
                v: {q: list(ts) for q, ts in qs.items()} for v, qs in self.visitors.items()
            },
            "newest_received": self.newest_received,
            "swept_at": self.swept_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceState:
        if data.get("v") != _STATE_VERSION:
            raise StreamError(
                f"device state version {data.get('v')!r} is not {_STATE_VERSION}: "
                "this worker is older than the state's writer; upgrade it"
            )
        return cls(
            seen={str(k): int(p) for k, p in data["seen"].items()},
            times=sorted(int(t) for t in data["times"]),
            last_press=data["last_press"],
            in_burst=bool(data["in_burst"]),
            last_counted=data["last_counted"],
            visitors={
                str(v): {str(q): [int(t) for t in ts] for q, ts in qs.items()}
                for v, qs in data["visitors"].items()
            },
            newest_received=data["newest_received"],
            swept_at=data["swept_at"],
        )


def decide(state: DeviceState, press: ResolvedPress, rules: Rules) -> tuple[DeviceState, Verdict]:
    """Judge one press of one device, in partition order. Updates and returns ``state``."""
    if press.device is None:
        return state, "unknown_device"
    event_id = press.event.event_id.hex
    if event_id in state.seen:
        return state, "duplicate"
    t, received = press.pressed_us, press.received_us
    state.seen[event_id] = t
    if t > received + rules.max_future_us or received - t > rules.max_delay_us:
        _maybe_sweep(state, rules)
        return state, "clock_skew"
    if state.newest_received is None or received > state.newest_received:
        state.newest_received = received
    verdict = _judge(state, press, t, rules)
    _maybe_sweep(state, rules)
    return state, verdict


def _judge(state: DeviceState, press: ResolvedPress, t: int, rules: Rules) -> Verdict:
    if _burst(state, t, rules):
        return "burst"
    if state.last_counted is not None and abs(t - state.last_counted) < rules.repeat_gap_us:
        return "repeat"
    visitor = press.event.visitor
    if visitor is not None:
        counted = state.visitors.setdefault(visitor, {}).setdefault(press.question_id or "", [])
        window = rules.visitor_window_us
        if any(abs(t - u) < window for u in counted):
            return "visitor_limit"
        counted.append(t)
    state.last_counted = t
    return "counted"


def _burst(state: DeviceState, t: int, rules: Rules) -> bool:
    if rules.burst_max == 0:  # rule off: nothing to remember either
        state.in_burst = False
        return False
    previous = state.last_press
    times, window = state.times, rules.burst_window_us
    others = bisect_left(times, t + window) - bisect_right(times, t - window) if window else 0
    insort(times, t)
    state.last_press = t
    if state.in_burst:
        if previous is not None and abs(t - previous) < rules.burst_quiet_us:
            return True
        state.in_burst = False  # quiet long enough: judged normally from here on
    if others + 1 > rules.burst_max:
        state.in_burst = True
        return True
    return False


def _maybe_sweep(state: DeviceState, rules: Rules) -> None:
    newest = state.newest_received
    if newest is None:
        return
    due = state.swept_at is None or newest - state.swept_at >= SWEEP_EVERY_US
    if not due and len(state.seen) <= MAX_IDS and len(state.times) <= MAX_TIMES:
        return
    state.swept_at = newest
    cutoff = newest - (rules.max_delay_us + rules.max_future_us + RETENTION_MARGIN_US)
    seen = {key: p for key, p in state.seen.items() if p >= cutoff}
    if len(seen) > MAX_IDS:
        seen = dict(list(seen.items())[-MAX_IDS:])
    state.seen = seen
    times = state.times
    del times[: bisect_left(times, cutoff - rules.burst_window_us)]
    if len(times) > MAX_TIMES:
        del times[: len(times) - MAX_TIMES]
    visitor_cutoff = cutoff - rules.visitor_window_us
    for visitor in list(state.visitors):
        questions = state.visitors[visitor]
        for question in list(questions):
            kept = [u for u in questions[question] if u >= visitor_cutoff]
            if kept:
                questions[question] = kept
            else:
                del questions[question]
        if not questions:
            del state.visitors[visitor]
