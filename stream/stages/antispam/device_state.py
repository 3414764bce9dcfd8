"""The anti-spam state of one device, kept as small parts so that a press rewrites O(1) bytes.

A device remembers up to ``max_delay`` (a week for terminals) of event ids, press times and web
visitors. Writing all of it to the table's changelog on every press would cost O(state) per
press, so the state is split into *parts*, each stored under its own key, loaded lazily and
written back only when changed (``dirty``):

* the *core* (key ``device_id``): last press, burst flag, last counted press, newest
  ``received_at``, the last applied source offset, the list of time buckets;
* ``s<n>`` (key ``device_id|s<n>.<gen>``): event ids by *arrival* hour ``h`` (of
  ``received_at``), ``n = h * 1000 + k``: at most ``IDS_PER_PART`` ids a part, a new part when
  one is full, ``{event_id: [pressed_us, offset, verdict]}`` -- the verdict lets a re-delivered
  message be answered with the verdict it got the first time (see ``decide``);
* ``v<n>``: the counted web presses by arrival hour, the same way (``VISITORS_PER_PART``),
  ``{visitor: {question_id: [pressed_us, ...]}}``;
* ``t<b>``: the press times of one hour ``b`` (burst rule), ``{"t": [...]}`` sorted, at most
  ``TIMES_PER_PART``; a press reads only the buckets its burst window overlaps.

Every part is therefore one bounded changelog record, whatever the device's rate.

Buckets by arrival hour mean a batch rewrites only the current hour's ids and visitors (a few
small records per device), never the week behind them; a lookup reads every live bucket (at
most ``max_delay`` of hours, each a dict lookup).

Crash consistency: a device's flush must be atomic, or a crash in the middle of it would leave
parts from after the last committed offset next to a core from before it (a re-delivered message
would then meet its own effects, or a pruning meant for later presses). Parts are therefore
copy-on-write: each flush writes the changed parts under new keys ``device_id|<part>.<gen>``,
then the core, which names the generation of every live part (the commit point), and only then
deletes the replaced keys (repeated at the next flush, in case the crash came in between). The
core and the parts are in one table, hence one changelog partition, so that order survives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from civicpulse.stream.exceptions import StreamError

__all__ = [
    "BUCKET_US",
    "DeviceState",
    "PartLoader",
]

BUCKET_US = 3_600_000_000
_CORE_VERSION = 2

#: part name -> its stored value, or None when the part does not exist
PartLoader = Callable[[str], Any]


def _no_parts(name: str) -> None:
    return None


class DeviceState:
    """One device's anti-spam memory: a small core plus lazily loaded parts (see module doc)."""

    __slots__ = (
        "_live",
        "_load",
        "_parts",
        "applied",
        "buckets",
        "dirty",
        "gen",
        "gens",
        "in_burst",
        "last_counted",
        "last_press",
        "n_seen",
        "n_times",
        "newest_received",
        "swept_at",
        "trash",
    )

    def __init__(self, core: dict[str, Any] | None = None, load: PartLoader | None = None) -> None:
        self._load: PartLoader = load or _no_parts
        self._parts: dict[str, dict[str, Any] | None] = {}
        self._live: dict[str, list[str]] | None = None
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
        self.gen: int = core.get("gen", 0)
        #: live part name -> the generation its key carries
        self.gens: dict[str, int] = dict(core.get("parts", {}))
        #: keys (suffixes) replaced by the last flush, deleted after its core
        self.trash: list[str] = list(core.get("trash", ()))
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
            "gen": self.gen,
            "parts": dict(self.gens),
            "trash": list(self.trash),
        }

    # -- parts --------------------------------------------------------------------------------

    def part(self, name: str) -> dict[str, Any] | None:
        """The part ``name`` (loaded on first use), None if absent."""
        if name in self._parts:
            return self._parts[name]
        gen = self.gens.get(name)
        value = None if gen is None else self._load(f"{name}.{gen}")
        self._parts[name] = value
        return value

    def create(self, name: str, empty: dict[str, Any]) -> dict[str, Any]:
        value = self.part(name)
        if value is None:
            value = empty
            self._parts[name] = value
            live = self.live(name[0])
            if name not in live:
                live.append(name)
                live.sort(key=lambda n: -int(n[1:]))
        return value

    def live(self, kind: str) -> list[str]:
        """Names of the existing parts of ``kind`` ("s", "v", "t"), newest hour first."""
        if self._live is None:
            self._live = {"s": [], "v": [], "t": []}
            for name in self.gens:
                self._live[name[0]].append(name)
            for names in self._live.values():
                names.sort(key=lambda n: -int(n[1:]))
        return self._live[kind]

    def touch(self, name: str) -> None:
        self.dirty.add(name)

    def drop(self, name: str) -> None:
        self._parts[name] = None
        self.dirty.add(name)
        live = self.live(name[0])
        if name in live:
            live.remove(name)

    def loaded(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        return iter(self._parts.items())

    def take_dirty(self) -> list[tuple[str, dict[str, Any] | None]]:
        """The writes of one flush, in order: ``(key suffix, value)``, "" the core, None deletes.

        Old leftovers first, then the changed parts under a new generation, the core, and the
        keys those parts replaced.
        """
        if not self.dirty:
            return []
        writes: list[tuple[str, dict[str, Any] | None]] = [(key, None) for key in self.trash]
        self.gen += 1
        replaced: list[str] = []
        for name in sorted(self.dirty - {""}):
            old = self.gens.pop(name, None)
            if old is not None:
                replaced.append(f"{name}.{old}")
            value = self._parts.get(name)
            if value is not None:
                self.gens[name] = self.gen
                writes.append((f"{name}.{self.gen}", value))
        self.trash = replaced
        writes.append(("", self.core()))
        writes.extend((key, None) for key in replaced)
        self.dirty.clear()
        return writes

    # -- views for tests and tools (load every part) ------------------------------------------

    @property
    def seen(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for name in self.to_dict()["parts"]:
            value = self.part(name) if name[0] == "s" else None
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
        """The whole state as one JSON-safe dict (core + every live part), as if flushed."""
        names = set(self.gens) | {n for n, v in self._parts.items() if v is not None}
        parts = {n: v for n in sorted(names) if (v := self.part(n)) is not None}
        core = self.core() | {"gen": 0, "parts": dict.fromkeys(parts, 0), "trash": []}
        return {"core": core, "parts": parts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceState:
        parts = {f"{name}.0": value for name, value in data["parts"].items()}
        return cls(data["core"], parts.get)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeviceState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DeviceState({self.core()!r})"
