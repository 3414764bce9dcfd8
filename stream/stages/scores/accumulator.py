"""Event-time window scores of counted presses: the pure state behind the scores stage.

* **Counts** are kept per scope and per *minute* of ``pressed_at`` (four integers each): a rolling
  15-min window is the sum of its 15 minutes, an hour or a local day the sum of theirs. They are
  stored as one record per (scope, hour): at most 60 minutes of four integers, so no record grows
  with traffic.
* **Idempotence without an id set.** Every press arrives with its *source*: the partition and
  offset it had on presses.accepted (the hop to the scoring topic forwards each partition in
  order). Each record remembers, per source partition, the highest offset applied to it; a press
  at or below that offset is already in the record (a re-delivery after a crash, or the hop
  forwarding again what it had forwarded before a crash) and is not counted twice. Because the
  offset travels inside the record it protects, the records need no atomic multi-record flush:
  whichever records reached the changelog before a crash carry exactly the presses they hold.
* **Watermark.** Per *lane* (an in-order stream of presses: the worker's lanes are the pairs
  of presses.raw partition and presses.accepted partition), the newest ``received_at`` seen (its
  *head*). The watermark is the slowest *active* lane's head minus ``grace``: after a backlog the
  partitions are read in chunks (one may run many minutes of event time ahead of another), and
  a watermark taken from the fastest would close windows that the others are still filling. A
  lane with no message for ``idle_after`` seconds of wall time is idle and does not hold the
  watermark back, unless the group's offsets say that presses may still come on it (``waiting``,
  from ``census``): then it holds for up to ``max_wait`` of quiet, since wall time says little
  about what a busy machine has yet to read. When the whole stream idles, ``idle``
  raises a *floor*: by the quiet time, and once the stream has drained, past the end of every
  window holding a press, so the hour and day windows of a backlog close at once instead of a
  day of wall-clock time later.
* A window ``[start, end)`` **closes** when ``end <= watermark``: its ScoreEvent is emitted once
  for every scope with presses in it (a window without presses emits nothing).
* A **late** press (its window already closed; anti-spam lets presses up to ``max_delay`` late
  through) is added to its minute and marks every closed window it falls in as stale;
  ``take_corrections`` emits each stale window once, with its current counts: corrections
  coalesce per flush, however many late presses touched the window. The scores table keeps the
  latest row per window, so closed-window scores equal a recomputation from the stored presses.
  A press that is skipped as already applied still marks its windows (their correction may not
  have reached the topic before a crash). Minutes are kept ``keep`` (default 8 days: the longest
  ``max_delay`` plus a day) behind the watermark; an older press is refused (``add`` -> False).

State changes are tracked as dirty record names (``take_dirty``) so that the worker writes only
what changed; ``load`` rebuilds the accumulator from those records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from civicpulse.schemas.events import JudgedPress, ScoreEvent
from civicpulse.stream.catalogue.index import epoch_us, from_epoch_us
from civicpulse.stream.stages.scores.census import MAX_WAIT, lane_partitions
from civicpulse.stream.stages.scores.formula import (
    Counts,
    ScopeKey,
    WindowName,
    scopes_of,
    score_event,
)
from civicpulse.stream.stages.scores.windows import day_window, hour_window

__all__ = ["MINUTE_US", "Closed", "ScoreAccumulator", "Source"]

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
_ROLLING_MINUTES = 15
_STATE_VERSION = 3

#: where a press came from: (partition, offset) on presses.accepted
Source = tuple[int, int]
#: one closed window: (window name, start us, end us, its events)
Closed = tuple[WindowName, int, int, list[ScoreEvent]]
#: a record: one scope's minutes of one hour
RecordKey = tuple[ScopeKey, int]


def _key_text(key: ScopeKey) -> str:
    return "|".join(key)


def _key_of(text: str) -> ScopeKey:
    scope, scope_id, kind = text.split("|")
    return (scope, scope_id, kind)  # type: ignore[return-value]


def _record_name(key: ScopeKey, hour: int) -> str:
    return f"m|{_key_text(key)}|{hour}"


@dataclass
class ScoreAccumulator:
    """Minute slices per scope, per-record applied offsets, a watermark (see module doc)."""

    zone: tzinfo
    city_id: str
    grace_us: int = 2 * MINUTE_US
    keep_us: int = 8 * 24 * HOUR_US
    #: seconds of wall time without a message after which a lane is idle
    idle_after: float = 30.0
    #: seconds after the first press (or a load) during which nothing closes: the lanes of a
    #: backlog show up over its first batches, and a watermark taken before the slow lanes are
    #: seen would close windows that they still fill (each a correction later)
    warmup: float = 0.0
    #: scope -> minute (epoch minutes) -> [n1, n2, n3, n4]
    slices: dict[ScopeKey, dict[int, list[int]]] = field(default_factory=dict)
    #: minute -> scopes with presses in it
    by_minute: dict[int, set[ScopeKey]] = field(default_factory=dict)
    #: record -> source partition -> highest offset applied to it
    applied: dict[RecordKey, dict[int, int]] = field(default_factory=dict)
    #: lane -> newest received_at (us)
    heads: dict[int, int] = field(default_factory=dict)
    #: lane -> wall time (s, the caller's clock) of its last message; not stored
    seen_at: dict[int, float] = field(default_factory=dict)
    #: the watermark never falls below floor - grace (raised by ``idle``)
    floor: int | None = None
    #: every window with end <= closed has been emitted
    closed: int | None = None
    #: closed windows touched since the last ``take_corrections``
    stale: set[tuple[ScopeKey, int, int, WindowName]] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    _ends_cache: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)
    _warm_at: float | None = field(default=None, repr=False)
    #: nothing closes while held (the worker holds it while a presses.raw partition with
    #: presses has no lane yet: ``census.LaneCensus.held``)
    held: bool = False
    #: lanes that may still bring presses (``census.LaneCensus.waiting``)
    waiting: frozenset[int] = frozenset()
    #: seconds of quiet after which even a waiting lane stops holding the watermark
    max_wait: float = MAX_WAIT

    # -- time ---------------------------------------------------------------------------------

    def watermark(self, now: float = 0.0) -> int | None:
        """The slowest active partition's head (or the floor, if higher) minus grace."""
        if not self.heads and self.floor is None:
            return None
        active = [
            head
            for lane, head in self.heads.items()
            if (quiet := now - self.seen_at.get(lane, now)) < self.idle_after
            or (lane in self.waiting and quiet < self.max_wait)
        ]
        if active:
            base = min(active)
        elif self.heads:
            base = max(self.heads.values())  # every partition quiet: all of it has been read
        else:
            base = None
        if self.floor is not None and (base is None or self.floor > base):
            base = self.floor
        assert base is not None
        return base - self.grace_us

    def raw_partitions(self) -> set[int]:
        """The presses.raw partitions some lane of which has been seen."""
        return {raw for lane in self.heads if (raw := lane_partitions(lane)[0]) is not None}

    def idle(self, elapsed_us: int, *, now: float = 0.0, drained: bool = False) -> None:
        """No press for a while (the caller's tick, which waits while presses wait upstream, up
        to ``max_wait``): event time moves on too.

        ``elapsed_us`` of quiet moves the floor on from the slowest active lane's head (windows
        close at night too). ``drained``: the stream has been quiet long enough to say that
        everything sent has been read: the floor jumps past the end of every window that holds a
        press, so the hour and day windows of a backlog close now, not a day of wall-clock time
        later. Late
        presses after that are corrections, as always.
        """
        watermark = self.watermark(now)
        if not self.heads or watermark is None:
            return  # nothing received yet: the first presses may be a backlog of any age
        # From the slowest active lane, not the fastest: a pause in a backlog must not close
        # what the slow lanes still fill.
        target = watermark + self.grace_us + elapsed_us
        if drained and self.by_minute:
            last = max(self.by_minute)
            # the latest end of a window holding the last press: its day's, or its rolling
            # window's when the press came in the last minutes before local midnight
            ends = (*self._calendar_ends(last), (last + _ROLLING_MINUTES) * MINUTE_US)
            target = max(target, max(ends) + self.grace_us)
        if self.floor is None or target > self.floor:
            self.floor = target
            self.dirty.add("meta")

    # -- presses ------------------------------------------------------------------------------

    def add(
        self,
        press: JudgedPress,
        source: Source | None = None,
        now: float = 0.0,
        lane: int | None = None,
    ) -> bool:
        """Count one accepted press (once per source offset). False: refused, older than keep.

        ``lane`` names the in-order stream the press came through, for the watermark (default:
        its source partition); the worker uses the pair (presses.raw partition, presses.accepted
        partition), the finest order the pipeline keeps. A press in closed windows marks them
        for ``take_corrections``.
        """
        partition, offset = source if source is not None else (-1, -1)
        lane = partition if lane is None else lane
        received = epoch_us(press.received_at)
        if received > self.heads.get(lane, received - 1):
            self.heads[lane] = received
            self.dirty.add("meta")
        self.seen_at[lane] = now
        if self._warm_at is None:
            self._warm_at = now + self.warmup
        minute = epoch_us(press.pressed_at) // MINUTE_US
        watermark = self.watermark(now)
        assert watermark is not None
        if minute * MINUTE_US < watermark - self.keep_us:
            return False
        keys = scopes_of(press, self.city_id)
        hour = minute * MINUTE_US // HOUR_US
        button = press.button
        for key in keys:
            marks = self.applied.setdefault((key, hour), {})
            if source is not None and marks.get(partition, -1) >= offset:
                continue  # this record holds the press already
            if source is not None:
                marks[partition] = offset
            counts = self.slices.setdefault(key, {}).setdefault(minute, [0, 0, 0, 0])
            counts[button - 1] += 1
            self.by_minute.setdefault(minute, set()).add(key)
            self.dirty.add(_record_name(key, hour))
        if self.closed is not None and minute * MINUTE_US < self.closed:
            for start, end, name in self._windows_of(minute):
                if end <= self.closed:
                    for key in keys:
                        self.stale.add((key, start, end, name))
        return True

    def advance(self, now: float = 0.0) -> tuple[list[ScoreEvent], list[Closed]]:
        """What a flush emits: the corrections of stale closed windows, then the windows the
        watermark has closed since (corrections first: closing prunes old minutes)."""
        corrections = self.take_corrections()
        return corrections, self.close(now)

    def take_corrections(self) -> list[ScoreEvent]:
        """The current value of every closed window touched since the last call, once each."""
        stale, self.stale = sorted(self.stale), set()
        return [
            event
            for key, start, end, name in stale
            if (event := self._event(key, start, end, name)) is not None
        ]

    def _windows_of(self, minute: int) -> Iterator[tuple[int, int, WindowName]]:
        for k in range(_ROLLING_MINUTES):
            start = (minute - k) * MINUTE_US
            yield start, start + _ROLLING_MINUTES * MINUTE_US, "15m"
        moment = from_epoch_us(minute * MINUTE_US)
        for window in (hour_window(moment, self.zone), day_window(moment, self.zone)):
            yield epoch_us(window.start), epoch_us(window.end), window.name

    def _counts(self, key: ScopeKey, start: int, end: int) -> Counts:
        minutes = self.slices.get(key, {})
        total = [0, 0, 0, 0]
        first, last = start // MINUTE_US, end // MINUTE_US
        if last - first <= len(minutes):
            found = (minutes.get(m) for m in range(first, last))
        else:
            found = (c for m, c in minutes.items() if first <= m < last)
        for counts in found:
            if counts is not None:
                for i in range(4):
                    total[i] += counts[i]
        return Counts.from_list(total)

    def _event(self, key: ScopeKey, start: int, end: int, name: WindowName) -> ScoreEvent | None:
        counts = self._counts(key, start, end)
        if counts.n == 0:
            return None
        return score_event(key, name, from_epoch_us(start), from_epoch_us(end), counts)

    # -- closing ------------------------------------------------------------------------------

    def close(self, now: float = 0.0) -> list[Closed]:
        """Close every window whose end the watermark has passed, oldest end first.

        Returns ``(window, start, end, events)`` per closed window (events only for scopes with
        presses in it), and prunes minutes older than ``keep``.
        """
        watermark = self.watermark(now)
        if self.held or watermark is None or (self._warm_at is not None and now < self._warm_at):
            return []
        end_now = watermark // MINUTE_US * MINUTE_US  # windows end on whole minutes
        if self.closed is None:
            if not self.by_minute:
                return []  # nothing to close yet: begin with the first press held
            self.closed = min(self.by_minute) * MINUTE_US
            self.dirty.add("meta")
        if end_now <= self.closed:
            return []
        out: list[Closed] = []
        for end in self._ends_between(self.closed, end_now):
            for start, name in self._ending_at(end):
                keys = self._scopes_between(start, end)
                found = (self._event(key, start, end, name) for key in sorted(keys))
                events = [e for e in found if e is not None]
                if events:
                    out.append((name, start, end, events))
        self.closed = end_now
        self.dirty.add("meta")
        self._prune(watermark)
        return out

    def _ends_between(self, low: int, high: int) -> list[int]:
        """Window ends in ``(low, high]`` of windows that hold a press, in order.

        Only these can emit anything, so a watermark that jumps days ahead (an idle stream after
        an old backlog) costs the minutes with presses, not the minutes in between.
        """
        horizon = (low - 26 * HOUR_US) // MINUTE_US  # no window is longer than 25 hours
        ends: set[int] = set()
        for minute in self.by_minute:
            if minute < horizon:
                continue
            for k in range(1, _ROLLING_MINUTES + 1):
                end = (minute + k) * MINUTE_US
                if low < end <= high:
                    ends.add(end)
            for end in self._calendar_ends(minute):
                if low < end <= high:
                    ends.add(end)
        return sorted(ends)

    def _calendar_ends(self, minute: int) -> tuple[int, int]:
        """The ends of the local hour and the local day holding ``minute`` (cached)."""
        found = self._ends_cache.get(minute)
        if found is None:
            moment = from_epoch_us(minute * MINUTE_US)
            found = (
                epoch_us(hour_window(moment, self.zone).end),
                epoch_us(day_window(moment, self.zone).end),
            )
            self._ends_cache[minute] = found
        return found

    def _ending_at(self, end: int) -> Iterator[tuple[int, WindowName]]:
        yield end - _ROLLING_MINUTES * MINUTE_US, "15m"
        before = from_epoch_us(end - 1)
        for window in (hour_window(before, self.zone), day_window(before, self.zone)):
            if epoch_us(window.end) == end:
                yield epoch_us(window.start), window.name

    def _scopes_between(self, start: int, end: int) -> set[ScopeKey]:
        keys: set[ScopeKey] = set()
        first, last = start // MINUTE_US, end // MINUTE_US
        if last - first > len(self.by_minute):
            minutes: Iterable[int] = (m for m in self.by_minute if first <= m < last)
        else:
            minutes = range(first, last)
        for minute in minutes:
            found = self.by_minute.get(minute)
            if found:
                keys |= found
        return keys

    def _prune(self, watermark: int) -> None:
        floor = (watermark - self.keep_us) // MINUTE_US
        old = [m for m in self.by_minute if m < floor]
        for minute in old:
            self._ends_cache.pop(minute, None)
            hour = minute * MINUTE_US // HOUR_US
            for key in self.by_minute.pop(minute):
                slices = self.slices[key]
                slices.pop(minute, None)
                if not slices:
                    del self.slices[key]
                if all(m not in slices for m in range(hour * 60, hour * 60 + 60)):
                    self.applied.pop((key, hour), None)
                self.dirty.add(_record_name(key, hour))

    # -- records (what the worker's table holds) ----------------------------------------------

    def record(self, name: str) -> Any:
        """The current value of record ``name`` (None: delete it)."""
        if name == "meta":
            return {
                "v": _STATE_VERSION,
                "heads": {str(p): us for p, us in sorted(self.heads.items())},
                "floor": self.floor,
                "closed": self.closed,
            }
        kind, rest = name.split("|", 1)
        if kind != "m":
            return None  # a record of an older version (e.g. the event-id sets): deleted
        key_text, hour_text = rest.rsplit("|", 1)
        key, hour = _key_of(key_text), int(hour_text)
        slices = self.slices.get(key, {})
        first = hour * 60
        counts = {
            str(m): list(c) for m in range(first, first + 60) if (c := slices.get(m)) is not None
        }
        if not counts:
            return None
        marks = self.applied.get((key, hour), {})
        return {"c": counts, "o": {str(p): o for p, o in sorted(marks.items())}}

    def take_dirty(self) -> list[tuple[str, Any]]:
        changed = [(name, self.record(name)) for name in sorted(self.dirty)]
        self.dirty.clear()
        return changed

    def load(self, records: Iterable[tuple[str, Any]], now: float = 0.0) -> None:
        """Rebuild from stored records (the worker's recovered table).

        Every partition counts as active from ``now``: a partition that is still catching up
        after a restart holds the watermark back until it has been quiet for ``idle_after``.
        """
        for name, value in records:
            if value is None:
                continue
            if name == "meta":
                self._load_meta(value)
                continue
            kind, rest = name.split("|", 1)
            if kind != "m":
                self.dirty.add(name)  # an older version's record: delete it at the next flush
                continue
            key_text, hour_text = rest.rsplit("|", 1)
            key, hour = _key_of(key_text), int(hour_text)
            counts = value.get("c", value)  # version 2 stored the minutes only
            for minute_text, four in counts.items():
                minute = int(minute_text)
                self.slices.setdefault(key, {})[minute] = list(four)
                self.by_minute.setdefault(minute, set()).add(key)
            marks = value.get("o", {}) if "c" in value else {}
            self.applied[(key, hour)] = {int(p): int(o) for p, o in marks.items()}
        for lane in self.heads:
            self.seen_at[lane] = now
        self._warm_at = now + self.warmup

    def _load_meta(self, value: dict[str, Any]) -> None:
        if value.get("v") == _STATE_VERSION:
            self.heads = {int(p): int(us) for p, us in value["heads"].items()}
            self.floor = value.get("floor")
        elif value.get("newest_received") is not None:  # version 2: one global head
            self.heads = {-1: int(value["newest_received"])}
            self.dirty.add("meta")
        self.closed = value.get("closed")
