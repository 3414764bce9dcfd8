"""Event-time window scores of counted presses: the pure state behind the scores agent.

* Counts are kept per scope and per *minute* of ``pressed_at`` (four integers each): a rolling
  15-min window is the sum of its 15 minutes, an hour or a local day the sum of theirs. One
  minute slice per (scope, minute with presses) is far smaller than one record per window.
* The *watermark* is the newest ``received_at`` seen minus ``grace``; when no press arrives,
  ``idle`` moves it on by the wall-clock time elapsed, so windows also close at night. A window
  ``[start, end)`` closes when ``end <= watermark``: its ScoreEvent is emitted once for every
  scope with presses in it (a window without presses emits nothing).
* A late press (its window already closed; anti-spam lets presses up to ``max_delay`` late
  through) is added to its minute and the corrected ScoreEvent of every closed window it falls
  in is emitted again: the scores table keeps the latest row per window, so closed-window scores
  equal a recomputation from the stored presses. Minutes are kept ``keep`` (default 8 days:
  the longest ``max_delay`` plus a day) behind the watermark; a press older than that cannot be
  corrected any more and is refused (``add`` returns None).
* A press is counted once per ``event_id`` (re-deliveries after a crash): ids are remembered
  for ``keep`` of watermark time.

State changes are tracked as dirty record keys (``take_dirty``) so that the worker writes only
what changed to its table; ``load`` rebuilds the accumulator from those records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from civicpulse.schemas.events import JudgedPress, ScoreEvent

from .enrich import epoch_us, from_epoch_us
from .scores import Counts, ScopeKey, WindowName, scopes_of, score_event
from .windows import day_window, hour_window

__all__ = ["MINUTE_US", "ScoreAccumulator"]

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
_ROLLING_MINUTES = 15


def _key_text(key: ScopeKey) -> str:
    return "|".join(key)


def _key_of(text: str) -> ScopeKey:
    scope, scope_id, kind = text.split("|")
    return (scope, scope_id, kind)  # type: ignore[return-value]


@dataclass
class ScoreAccumulator:
    """Minute slices per scope, a watermark, the ids already counted (see module doc)."""

    zone: tzinfo
    city_id: str
    grace_us: int = 2 * MINUTE_US
    keep_us: int = 8 * 24 * HOUR_US
    #: scope -> minute (epoch minutes) -> [n1, n2, n3, n4]
    slices: dict[ScopeKey, dict[int, list[int]]] = field(default_factory=dict)
    #: minute -> scopes with presses in it
    by_minute: dict[int, set[ScopeKey]] = field(default_factory=dict)
    #: event_id -> the hour (epoch hours of the watermark) it was counted in, and the reverse
    ids: dict[str, int] = field(default_factory=dict)
    hours: dict[int, set[str]] = field(default_factory=dict)
    newest_received: int | None = None
    #: every window with end <= closed has been emitted
    closed: int | None = None
    dirty: set[str] = field(default_factory=set)

    # -- time ---------------------------------------------------------------------------------

    @property
    def watermark(self) -> int | None:
        return None if self.newest_received is None else self.newest_received - self.grace_us

    # -- presses ------------------------------------------------------------------------------

    def add(self, press: JudgedPress) -> list[ScoreEvent] | None:
        """Count one accepted press; returns corrected events of closed windows it falls in
        (empty for an on-time press), or None when it is refused (older than ``keep``)."""
        event_id = press.event_id.hex
        if event_id in self.ids:
            return []
        keys = scopes_of(press, self.city_id)
        received = epoch_us(press.received_at)
        if self.newest_received is None or received > self.newest_received:
            self.newest_received = received
            self.dirty.add("meta")
        minute = epoch_us(press.pressed_at) // MINUTE_US
        watermark = self.watermark
        assert watermark is not None
        if minute * MINUTE_US < watermark - self.keep_us:
            return None
        hour = watermark // HOUR_US
        self.ids[event_id] = hour
        self.hours.setdefault(hour, set()).add(event_id)
        self.dirty.add(f"i|{hour}")
        if not keys:
            return []
        button = press.button
        for key in keys:
            counts = self.slices.setdefault(key, {}).setdefault(minute, [0, 0, 0, 0])
            counts[button - 1] += 1
            self.by_minute.setdefault(minute, set()).add(key)
            self.dirty.add(f"m|{_key_text(key)}|{minute * MINUTE_US // HOUR_US}")
        if self.closed is None or minute * MINUTE_US >= self.closed:
            return []  # every window holding it ends after its start: none closed yet
        return [
            event
            for start, end, name in self._windows_of(minute)
            if end <= self.closed
            for key in keys
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

    def idle(self, elapsed_us: int) -> None:
        """No press for ``elapsed_us`` of wall-clock time: event time moves on as well."""
        if self.newest_received is not None and elapsed_us > 0:
            self.newest_received += elapsed_us
            self.dirty.add("meta")

    def close(self) -> list[tuple[WindowName, int, int, list[ScoreEvent]]]:
        """Close every window whose end the watermark has passed, oldest end first.

        Returns ``(window, start, end, events)`` per closed window (events only for scopes with
        presses in it), and prunes minutes and ids older than ``keep``.
        """
        watermark = self.watermark
        if watermark is None:
            return []
        now = watermark // MINUTE_US * MINUTE_US  # windows end on whole minutes
        if self.closed is None:
            # First start: nothing was emitted yet; begin with the oldest minute held.
            oldest = min(self.by_minute, default=now // MINUTE_US) * MINUTE_US
            self.closed = oldest
        if now <= self.closed:
            return []
        out: list[tuple[WindowName, int, int, list[ScoreEvent]]] = []
        for end in range(self.closed + MINUTE_US, now + 1, MINUTE_US):
            for start, name in self._ending_at(end):
                keys = self._scopes_between(start, end)
                found = (self._event(key, start, end, name) for key in sorted(keys))
                events = [e for e in found if e is not None]
                if events:
                    out.append((name, start, end, events))
        self.closed = now
        self.dirty.add("meta")
        self._prune(watermark)
        return out

    def _ending_at(self, end: int) -> Iterator[tuple[int, WindowName]]:
        yield end - _ROLLING_MINUTES * MINUTE_US, "15m"
        before = from_epoch_us(end - 1)
        for window in (hour_window(before, self.zone), day_window(before, self.zone)):
            if epoch_us(window.end) == end:
                yield epoch_us(window.start), window.name

    def _scopes_between(self, start: int, end: int) -> set[ScopeKey]:
        keys: set[ScopeKey] = set()
        for minute in range(start // MINUTE_US, end // MINUTE_US):
            found = self.by_minute.get(minute)
            if found:
                keys |= found
        return keys

    def _prune(self, watermark: int) -> None:
        floor = (watermark - self.keep_us) // MINUTE_US
        old = [m for m in self.by_minute if m < floor]
        for minute in old:
            for key in self.by_minute.pop(minute):
                slices = self.slices[key]
                slices.pop(minute, None)
                self.dirty.add(f"m|{_key_text(key)}|{minute * MINUTE_US // HOUR_US}")
                if not slices:
                    del self.slices[key]
        oldest_hour = (watermark - self.keep_us) // HOUR_US
        for hour in [h for h in self.hours if h < oldest_hour]:
            for event_id in self.hours.pop(hour):
                del self.ids[event_id]
            self.dirty.add(f"i|{hour}")

    # -- records (what the worker's table holds) ----------------------------------------------

    def record(self, name: str) -> Any:
        """The current value of record ``name`` (None: delete it)."""
        if name == "meta":
            return {"newest_received": self.newest_received, "closed": self.closed}
        kind, rest = name.split("|", 1)
        if kind == "i":
            return sorted(self.hours.get(int(rest), ())) or None
        key_text, hour_text = rest.rsplit("|", 1)
        slices = self.slices.get(_key_of(key_text), {})
        first = int(hour_text) * 60
        value = {str(m): c for m in range(first, first + 60) if (c := slices.get(m)) is not None}
        return value or None

    def take_dirty(self) -> list[tuple[str, Any]]:
        changed = [(name, self.record(name)) for name in sorted(self.dirty)]
        self.dirty.clear()
        return changed

    def load(self, records: Iterable[tuple[str, Any]]) -> None:
        """Rebuild from stored records (the worker's recovered table)."""
        for name, value in records:
            if value is None:
                continue
            if name == "meta":
                self.newest_received = value["newest_received"]
                self.closed = value["closed"]
                continue
            kind, rest = name.split("|", 1)
            if kind == "i":
                hour = int(rest)
                self.hours[hour] = set(value)
                for event_id in value:
                    self.ids[event_id] = hour
                continue
            key = _key_of(rest.rsplit("|", 1)[0])
            for minute_text, counts in value.items():
                minute = int(minute_text)
                self.slices.setdefault(key, {})[minute] = list(counts)
                self.by_minute.setdefault(minute, set()).add(key)
