"""The anti-spam state of one device, kept as small parts so that a press rewrites O(1) bytes.

A device remembers up to ``max_delay`` (a week for terminals) of event ids, press times and web
visitors. Writing all of it to the table's changelog on every press would cost O(state) per
press, so the state is split into *parts*, each stored under its own key, loaded lazily and
written back only when changed (``dirty``):

* the *core* (key ``device_id``): last press, burst flag, last counted press, newest
  ``received_at``, the last applied source offset, the list of time buckets;
* ``s<i>`` (key ``device_id|s<i>``): event ids hashed into ``SEEN_SHARDS`` shards,
  ``{event_id: [pressed_us, offset, verdict]}`` -- the verdict lets a re-delivered message be
  answered with the verdict it got the first time (at-least-once, see ``decide``);
* ``v<i>``: web visitors hashed into ``VISITOR_SHARDS`` shards,
  ``{visitor: {question_id: [[pressed_us, offset], ...]}}``;
* ``t<b>``: the press times of one hour ``b`` (burst rule), ``{"t": [...], "o": [...]}`` sorted by
  time; a press reads only the buckets its burst window overlaps.

Crash consistency: a flush writes the dirty parts first and the core last (one table, one
changelog partition, so the order survives). Every part entry carries the source offset that
wrote it, and every part its highest such offset (``hi``). When a part is loaded, entries newer
than the core's ``applied`` offset are the remains of a flush torn by a crash: their messages were
not committed and will be re-delivered, so they are dropped before the message is judged again.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

from .exceptions import StreamError

__all__ = [
    "BUCKET_US",
    "SEEN_SHARDS",
    "VISITOR_SHARDS",
    "DeviceState",
    "PartLoader",
    "seen_shard",
    "visitor_shard",
]

SEEN_SHARDS = 16
VISITOR_SHARDS = 8
BUCKET_US = 3_600_000_000
_CORE_VERSION = 2

#: part name -> its stored value, or None when the part does not exist
PartLoader = Callable[[str], Any]


def seen_shard(event_id: str) -> str:
    return f"s{zlib.crc32(event_id.encode()) % SEEN_SHARDS}"


def visitor_shard(visitor: str) -> str:
    return f"v{zlib.crc32(visitor.encode()) % VISITOR_SHARDS}"


def _no_parts(name: str) -> None:
    return None


class DeviceState:
    """One device's anti-spam memory: a small core plus lazily loaded parts (see module doc)."""

    __slots__ = (
        "_durable",
        "_load",
        "_parts",
        "applied",
        "buckets",
        "dirty",
        "in_burst",
        "last_counted",
        "last_press",
        "n_seen",
        "n_times",
        "newest_received",
        "swept_at",
    )

    def __init__(self, core: dict[str, Any] | None = None, load: PartLoader | None = None) -> None:
        self._load: PartLoader = load or _no_parts
        self._parts: dict[str, dict[str, Any] | None] = {}
        #: names of the parts changed since the last flush; "" is the core
        self.dirty: set[str] = set()
        if core is None:
            core = {"v": _CORE_VERSION}
        elif core.get("v") != _CORE_VERSION:
            raise StreamError(
                f"device state version {core.get('v')!r} is not {_CORE_VERSION}: the state was "
                "written by another version of the worker; upgrade the worker or reset the "
                "stream's tables (new topic prefix or application id)"
            )
        self.last_press: int | None = core.get("last_press")
        self.in_burst: bool = bool(core.get("in_burst", False))
        self.last_counted: int | None = core.get("last_counted")
        self.newest_received: int | None = core.get("newest_received")
        self.swept_at: int | None = core.get("swept_at")
        self.applied: int = core.get("applied", -1)
        # Parts are loaded lazily, after ``applied`` may have moved on: torn entries are judged
        # against the offset the stored core had.
        self._durable = self.applied
        self.buckets: list[int] = list(core.get("buckets", ()))
        self.n_seen: int = core.get("n_seen", 0)
        self.n_times: int = core.get("n_times", 0)

    # -- core ---------------------------------------------------------------------------------

    def core(self) -> dict[str, Any]:
        return {
            "v": _CORE_VERSION,
            "last_press": self.last_press,
            "in_burst": self.in_burst,
            "last_counted": self.last_counted,
            "newest_received": self.newest_received,
            "swept_at": self.swept_at,
            "applied": self.applied,
            "buckets": list(self.buckets),
            "n_seen": self.n_seen,
            "n_times": self.n_times,
        }

    # -- parts --------------------------------------------------------------------------------

    def part(self, name: str) -> dict[str, Any] | None:
        """The part ``name`` (loaded on first use, torn entries dropped), None if absent."""
        if name in self._parts:
            return self._parts[name]
        value = self._load(name)
        if value is not None and value.get("hi", -1) > self._durable:
            value = self._untorn(name, value)
        self._parts[name] = value
        return value

    def _untorn(self, name: str, value: dict[str, Any]) -> dict[str, Any] | None:
        applied, kind = self._durable, name[0]
        if kind == "s":
            ids = {k: r for k, r in value["ids"].items() if r[1] <= applied}
            self.n_seen -= len(value["ids"]) - len(ids)
            fixed: dict[str, Any] = {"hi": applied, "ids": ids}
        elif kind == "v":
            by: dict[str, dict[str, list[list[int]]]] = {}
            for visitor, questions in value["by"].items():
                for question, entries in questions.items():
                    kept = [e for e in entries if e[1] <= applied]
                    if kept:
                        by.setdefault(visitor, {})[question] = kept
            fixed = {"hi": applied, "by": by}
        else:
            pairs = [(t, o) for t, o in zip(value["t"], value["o"], strict=True) if o <= applied]
            self.n_times -= len(value["t"]) - len(pairs)
            fixed = {"hi": applied, "t": [t for t, _ in pairs], "o": [o for _, o in pairs]}
        self.dirty.add(name)
        return fixed

    def create(self, name: str, empty: dict[str, Any]) -> dict[str, Any]:
        value = self.part(name)
        if value is None:
            value = empty
            self._parts[name] = value
        return value

    def touch(self, name: str, offset: int) -> None:
        value = self._parts[name]
        if value is not None and offset > value["hi"]:
            value["hi"] = offset
        self.dirty.add(name)

    def drop(self, name: str) -> None:
        self._parts[name] = None
        self.dirty.add(name)

    def loaded(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        return iter(self._parts.items())

    def take_dirty(self) -> list[tuple[str, dict[str, Any] | None]]:
        """The changed parts (value None: delete it), parts first and the core ("") last."""
        changed = [(n, self._parts[n]) for n in sorted(self.dirty) if n]
        if "" in self.dirty:
            changed.append(("", self.core()))
        self.dirty.clear()
        return changed

    def all_part_names(self) -> list[str]:
        return [
            *(f"s{i}" for i in range(SEEN_SHARDS)),
            *(f"v{i}" for i in range(VISITOR_SHARDS)),
            *(f"t{b}" for b in self.buckets),
        ]

    # -- views for tests and tools (load every part) ------------------------------------------

    @property
    def seen(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for i in range(SEEN_SHARDS):
            value = self.part(f"s{i}")
            if value is not None:
                out.update(value["ids"])
        return out

    @property
    def times(self) -> list[int]:
        out: list[int] = []
        for bucket in self.buckets:
            value = self.part(f"t{bucket}")
            if value is not None:
                out.extend(value["t"])
        return out

    def to_dict(self) -> dict[str, Any]:
        """The whole state as one JSON-safe dict (core + every part)."""
        parts = {}
        for name in self.all_part_names():
            value = self.part(name)
            if value is not None:
                parts[name] = value
        return {"core": self.core(), "parts": parts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceState:
        parts = data["parts"]
        return cls(data["core"], parts.get)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeviceState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DeviceState({self.core()!r})"
