"""Anti-spam rules: per channel, overridable per site, read from TOML (contract format).

```toml
[terminal]
repeat_gap = "5s"
[sites.town-hall-1.terminal]
repeat_gap = "10s"
```

A rule left out of a ``[<channel>]`` table takes the built-in default; a rule left out of a
``[sites.<site_id>.<channel>]`` table takes the channel's value from the same file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from civicpulse.schemas import durations
from civicpulse.schemas.events import Channel
from civicpulse.schemas.exceptions import DurationError
from civicpulse.stream.exceptions import RulesError

__all__ = ["DEFAULT_RULES", "RuleBook", "Rules", "parse_duration"]

_CHANNELS: tuple[Channel, ...] = ("terminal", "web")
_US = timedelta(microseconds=1)


def parse_duration(text: str) -> timedelta:
    """``"5s"``, ``"10m"``, ``"24h"``, ``"7d"``, ``"500ms"``, ``"1h30m"``, ``"0s"`` -> timedelta.

    The project's one parser (``schemas.durations``); its error becomes a ``RulesError`` with the
    rules file's wording.
    """
    if not isinstance(text, str):
        raise RulesError(f'durations are strings like "5s" or "10m", got {text!r}')
    try:
        return durations.parse_duration(text)
    except DurationError:
        raise RulesError(
            f'bad duration {text!r}: use a number and a unit ms|s|m|h|d, e.g. "5s", "7d"'
        ) from None


def _us(delta: timedelta) -> int:
    return delta // _US


@dataclass(frozen=True, slots=True)
class Rules:
    """The effective anti-spam rules of one press (channel + site). See DESIGN.md, Anti-spam."""

    repeat_gap: timedelta
    burst_max: int
    burst_window: timedelta
    burst_quiet: timedelta
    visitor_window: timedelta
    max_future: timedelta
    max_delay: timedelta
    # The same durations in integer microseconds: decide() compares integers, not timedeltas.
    repeat_gap_us: int = field(init=False, repr=False, compare=False)
    burst_window_us: int = field(init=False, repr=False, compare=False)
    burst_quiet_us: int = field(init=False, repr=False, compare=False)
    visitor_window_us: int = field(init=False, repr=False, compare=False)
    max_future_us: int = field(init=False, repr=False, compare=False)
    max_delay_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.burst_max, bool) or not isinstance(self.burst_max, int):
            raise RulesError(f"burst_max must be an integer >= 0, got {self.burst_max!r}")
        if self.burst_max < 0:
            raise RulesError(
                f"burst_max must be >= 0 (0 turns the burst rule off), got {self.burst_max}"
            )
        for name in _DURATIONS:
            value = getattr(self, name)
            if value < timedelta(0):
                raise RulesError(f"{name} must not be negative, got {value}")
            object.__setattr__(self, f"{name}_us", _us(value))


_DURATIONS = (
    "repeat_gap",
    "burst_window",
    "burst_quiet",
    "visitor_window",
    "max_future",
    "max_delay",
)
_KEYS = frozenset(f.name for f in fields(Rules) if f.init)

# The built-in defaults are the values of the design's example file. Terminals ignore
# visitor_window (they send no visitor); the web's burst_window/burst_quiet only matter if a
# site turns bursts on with burst_max > 0.
DEFAULT_RULES: Mapping[Channel, Rules] = {
    "terminal": Rules(
        repeat_gap=timedelta(seconds=5),
        burst_max=6,
        burst_window=timedelta(seconds=20),
        burst_quiet=timedelta(seconds=60),
        visitor_window=timedelta(hours=24),
        max_future=timedelta(minutes=5),
        max_delay=timedelta(days=7),
    ),
    "web": Rules(
        repeat_gap=timedelta(0),
        burst_max=0,
        burst_window=timedelta(seconds=20),
        burst_quiet=timedelta(seconds=60),
        visitor_window=timedelta(hours=24),
        max_future=timedelta(minutes=5),
        max_delay=timedelta(days=1),
    ),
}


def _apply(base: Rules, table: Any, where: str) -> Rules:
    if not isinstance(table, dict):
        raise RulesError(f"[{where}] must be a table of rules")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise RulesError(
            f"[{where}]: unknown rule(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}"
        )
    changes: dict[str, Any] = {}
    for key, value in table.items():
        try:
            changes[key] = value if key == "burst_max" else parse_duration(value)
        except RulesError as exc:
            raise RulesError(f"[{where}] {key}: {exc}") from None
    try:
        return replace(base, **changes)
    except RulesError as exc:
        raise RulesError(f"[{where}] {exc}") from None


R = TypeVar("R")


def read_rules_file(path: Path) -> str:
    """The text of a rules file, or the one error that says why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc.strerror}") from None


def parse_rules_toml(text: str, source: str) -> dict[str, Any]:
    """A rules file's TOML document (anti-spam and review thresholds read the same file)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML ({exc})") from None


def site_overrides(
    site_tables: Mapping[str, Any],
    channels: Mapping[Channel, R],
    apply: Callable[[R, Any, str], R],
    *,
    source: str,
    prefix: str,
) -> dict[tuple[str, Channel], R]:
    """``[<prefix>.<site>.<channel>]`` tables applied over their channel's values."""
    sites: dict[tuple[str, Channel], R] = {}
    for site_id, per_channel in site_tables.items():
        if not isinstance(per_channel, dict) or set(per_channel) - set(_CHANNELS):
            raise RulesError(
                f"{source}: [{prefix}.{site_id}] may only hold [{prefix}.{site_id}.terminal] "
                f"and [{prefix}.{site_id}.web] tables"
            )
        for ch in _CHANNELS:
            if ch in per_channel:
                where = f"{source}: {prefix}.{site_id}.{ch}"
                sites[(site_id, ch)] = apply(channels[ch], per_channel[ch], where)
    return sites


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Rules per channel plus per-site overrides; ``for_press`` is a dictionary lookup."""

    channels: Mapping[Channel, Rules] = field(default_factory=lambda: dict(DEFAULT_RULES))
    sites: Mapping[tuple[str, Channel], Rules] = field(default_factory=dict)

    def for_press(self, channel: Channel, site_id: str | None) -> Rules:
        """The effective rules of a press of ``channel`` at ``site_id`` (None: channel rules)."""
        if site_id is not None:
            rules = self.sites.get((site_id, channel))
            if rules is not None:
                return rules
        return self.channels[channel]

    @classmethod
    def defaults(cls) -> RuleBook:
        return cls()

    @classmethod
    def from_toml(cls, text: str, *, source: str = "rules") -> RuleBook:
        document = parse_rules_toml(text, source)
        # [review] holds the misuse-review thresholds, read by analytics.review.rules.
        unknown = sorted(set(document) - {*_CHANNELS, "sites", "review"})
        if unknown:
            raise RulesError(
                f"{source}: unknown table(s) {', '.join(unknown)}; "
                "use [terminal], [web] and [sites.<site_id>.<channel>]"
            )
        channels = {
            ch: _apply(DEFAULT_RULES[ch], document.get(ch, {}), f"{source}: {ch}")
            for ch in _CHANNELS
        }
        site_tables = document.get("sites", {})
        if not isinstance(site_tables, dict):
            raise RulesError(f"{source}: `sites` must be tables [sites.<site_id>.<channel>]")
        sites = site_overrides(site_tables, channels, _apply, source=source, prefix="sites")
        return cls(channels=channels, sites=sites)

    @classmethod
    def load(cls, path: Path | None) -> RuleBook:
        """Rules from a TOML file; ``None`` gives the built-in defaults."""
        if path is None:
            return cls.defaults()
        return cls.from_toml(read_rules_file(path), source=str(path))
