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
  dominate the stream's cost); it depends on nothing but its arguments. The state loads its
  parts lazily through the loader it was built with (``state.DeviceState``).
* At-least-once delivery: ``offset`` is the message's source offset (the replay CLI passes the
  line number). The state records, per seen id, the offset and the verdict. An id seen before
  *at the same offset* is the same message delivered again after a crash (its effects are
  already in the recovered state): ``decide`` answers the recorded verdict instead of
  ``duplicate``, so the re-emitted JudgedPress equals the first one. An id seen at another
  offset is a real ``duplicate``. Without an offset (None) there is no redelivery check.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Any

from civicpulse.schemas.events import Verdict
from civicpulse.stream.catalogue.index import ResolvedPress
from civicpulse.stream.stages.antispam.device_state import BUCKET_US, DeviceState
from civicpulse.stream.stages.antispam.rules import Rules

__all__ = [
    "IDS_PER_PART",
    "MAX_IDS",
    "MAX_TIMES",
    "RETENTION_MARGIN_US",
    "TIMES_PER_PART",
    "VISITORS_PER_PART",
    "DeviceState",
    "decide",
]

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

# Bounded records (each part is one changelog record, rewritten when it changes): ids and web
# visitors go to parts of at most IDS_PER_PART / VISITORS_PER_PART entries (~80 KB of JSON),
# several per arrival hour if need be (at most PARTS_PER_HOUR). Press times (burst rule) are
# bucketed by the hour of pressed_at and a bucket holds at most TIMES_PER_PART times: a device
# pressed that often within one hour has been in burst since its first few presses of it, and
# staying in burst needs only the previous press (burst_quiet), so the times past the cap can
# change no verdict of presses that arrive in time order.
IDS_PER_PART = 1_000
VISITORS_PER_PART = 500
TIMES_PER_PART = 8_000
PARTS_PER_HOUR = 1_000


def decide(
    state: DeviceState, press: ResolvedPress, rules: Rules, *, offset: int | None = None
) -> tuple[DeviceState, Verdict]:
    """Judge one press of one device, in partition order. Updates and returns ``state``."""
    if press.device is None:
        return state, "unknown_device"
    event_id = press.event.event_id.hex
    for name in state.live("s"):
        part = state.part(name)
        record = None if part is None else part["ids"].get(event_id)
        if record is not None:
            if offset is not None and record[1] == offset:
                recorded: Verdict = record[2]
                return state, recorded  # the same message again: its first verdict
            return state, "duplicate"
    if offset is not None and offset <= state.applied:
        # Re-delivered, but its id record is gone (pruned, see MAX_IDS / retention): judging it
        # again would apply it twice. Rejected as a duplicate, the state left as it is.
        return state, "duplicate"
    at = -1 if offset is None else offset
    if at > state.applied:
        state.applied = at
    t, received = press.pressed_us, press.received_us
    record = [t, at, "clock_skew"]
    shard = _current_part(state, "s", "ids", received, IDS_PER_PART)
    state.create(shard, {"ids": {}})["ids"][event_id] = record
    state.touch(shard)
    state.n_seen += 1
    state.dirty.add("")
    verdict: Verdict
    if t > received + rules.max_future_us or received - t > rules.max_delay_us:
        verdict = "clock_skew"
    else:
        if state.newest_received is None or received > state.newest_received:
            state.newest_received = received
        verdict = _judge(state, press, t, rules)
        record[2] = verdict
    _maybe_sweep(state, rules)
    return state, verdict


def _judge(state: DeviceState, press: ResolvedPress, t: int, rules: Rules) -> Verdict:
    if _burst(state, t, rules):
        return "burst"
    if state.last_counted is not None and abs(t - state.last_counted) < rules.repeat_gap_us:
        return "repeat"
    visitor = press.event.visitor
    if visitor is not None:
        question = press.question_id or ""
        window = rules.visitor_window_us
        for name in state.live("v"):
            part = state.part(name)
            counted = () if part is None else part["by"].get(visitor, {}).get(question, ())
            if any(abs(t - u) < window for u in counted):
                return "visitor_limit"
        shard = _current_part(state, "v", "by", press.received_us, VISITORS_PER_PART)
        part = state.create(shard, {"by": {}})
        part["by"].setdefault(visitor, {}).setdefault(question, []).append(t)
        state.touch(shard)
    state.last_counted = t
    return "counted"


def _burst(state: DeviceState, t: int, rules: Rules) -> bool:
    if rules.burst_max == 0:  # rule off: nothing to remember either
        state.in_burst = False
        return False
    previous = state.last_press
    window = rules.burst_window_us
    others = _times_near(state, t, window) if window else 0
    _add_time(state, t)
    state.last_press = t
    if state.in_burst:
        if previous is not None and abs(t - previous) < rules.burst_quiet_us:
            return True
        state.in_burst = False  # quiet long enough: judged normally from here on
    if others + 1 > rules.burst_max:
        state.in_burst = True
        return True
    return False


def _times_near(state: DeviceState, t: int, window: int) -> int:
    """How many remembered press times u satisfy |t - u| < window."""
    low, high = t - window, t + window
    buckets = state.buckets
    found = 0
    for bucket in buckets[bisect_left(buckets, (low + 1) // BUCKET_US) :]:
        if bucket * BUCKET_US >= high:
            break
        part = state.part(f"t{bucket}")
        if part is not None:
            times = part["t"]
            found += bisect_left(times, high) - bisect_right(times, low)
    return found


def _add_time(state: DeviceState, t: int) -> None:
    bucket = t // BUCKET_US
    name = f"t{bucket}"
    position = bisect_left(state.buckets, bucket)
    if position == len(state.buckets) or state.buckets[position] != bucket:
        state.buckets.insert(position, bucket)
    part = state.create(name, {"t": []})
    if len(part["t"]) >= TIMES_PER_PART:
        return  # see TIMES_PER_PART: the device is in burst, which needs no more times
    insort(part["t"], t)
    state.touch(name)
    state.n_times += 1


def _current_part(state: DeviceState, kind: str, field: str, received: int, cap: int) -> str:
    """The part that takes a new entry: the newest of its arrival hour while it has room.

    Part names are ``<kind><hour * 1000 + k>``: several bounded parts per hour, newest last;
    the parts of earlier versions (``<kind><hour>``) sort before every new one.
    """
    hour = received // BUCKET_US
    live = state.live(kind)
    if live:
        newest = int(live[0][1:])
        if newest // PARTS_PER_HOUR == hour:
            part = state.part(live[0])
            if part is None or len(part[field]) < cap:
                return live[0]
            return f"{kind}{newest + 1}"
    return f"{kind}{hour * PARTS_PER_HOUR}"


def _maybe_sweep(state: DeviceState, rules: Rules) -> None:
    newest = state.newest_received
    if newest is None:
        return
    due = state.swept_at is None or newest - state.swept_at >= SWEEP_EVERY_US
    if not due and state.n_seen <= MAX_IDS and state.n_times <= MAX_TIMES:
        return
    state.swept_at = newest
    state.dirty.add("")
    cutoff = newest - (rules.max_delay_us + rules.max_future_us + RETENTION_MARGIN_US)
    _sweep_seen(state, cutoff)
    _sweep_times(state, cutoff - rules.burst_window_us)
    _sweep_visitors(state, cutoff - rules.visitor_window_us)


def _sweep_seen(state: DeviceState, cutoff: int) -> None:
    total = 0
    for name in list(state.live("s")):  # newest first: the cap drops the oldest arrivals
        part = state.part(name)
        if part is None:
            continue
        ids: dict[str, list[Any]] = part["ids"]
        kept = {key: r for key, r in ids.items() if r[0] >= cutoff}
        if total + len(kept) > MAX_IDS:
            kept = dict(list(kept.items())[len(kept) - max(0, MAX_IDS - total) :])
        if len(kept) != len(ids):
            if kept:
                part["ids"] = kept
                state.dirty.add(name)
            else:
                state.drop(name)
        total += len(kept)
    state.n_seen = total


def _sweep_times(state: DeviceState, cutoff: int) -> None:
    # Times are sorted across buckets (bucket b holds [b, b + 1) hours), so both passes walk
    # from the oldest bucket and stop at the first one that keeps everything.
    for bucket in list(state.buckets):
        part = state.part(f"t{bucket}")
        size = 0 if part is None else len(part["t"])
        drop = 0 if part is None else bisect_left(part["t"], cutoff)
        _drop_oldest(state, bucket, part, drop)
        if drop < size:
            break
    total = sum(len(part["t"]) for b in state.buckets if (part := state.part(f"t{b}")) is not None)
    excess = total - MAX_TIMES
    for bucket in list(state.buckets):
        if excess <= 0:
            break
        part = state.part(f"t{bucket}")
        drop = 0 if part is None else min(excess, len(part["t"]))
        _drop_oldest(state, bucket, part, drop)
        excess -= drop
        total -= drop
    state.n_times = total


def _drop_oldest(state: DeviceState, bucket: int, part: dict[str, Any] | None, k: int) -> None:
    name = f"t{bucket}"
    if part is None or k >= len(part["t"]):
        state.buckets.remove(bucket)
        state.drop(name)
    elif k:
        del part["t"][:k]
        state.dirty.add(name)


def _sweep_visitors(state: DeviceState, cutoff: int) -> None:
    for name in list(state.live("v")):
        part = state.part(name)
        if part is None:
            continue
        changed = False
        by: dict[str, dict[str, list[int]]] = part["by"]
        for visitor in list(by):
            questions = by[visitor]
            for question in list(questions):
                entries = questions[question]
                kept = [u for u in entries if u >= cutoff]
                if len(kept) != len(entries):
                    changed = True
                    if kept:
                        questions[question] = kept
                    else:
                        del questions[question]
            if not questions:
                del by[visitor]
        if changed:
            if by:
                state.dirty.add(name)
            else:
                state.drop(name)
