"""Misuse-review thresholds: the ``[review]`` part of the rules TOML, per channel and site.

```toml
[review]                      # every channel
run_probability = 1e-6
[review.web]                  # one channel
outside_hours = false
[review.sites.town-hall-1.terminal]   # one site, one channel
run_min_presses = 10
```

A key left out of ``[review.<channel>]`` takes the ``[review]`` value, else the built-in default;
a key left out of ``[review.sites.<site_id>.<channel>]`` takes the channel's value. The anti-spam
``RuleBook`` reads the same file and leaves ``[review]`` to this parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from civicpulse.schemas.events import Channel
from civicpulse.stream.exceptions import RulesError
from civicpulse.stream.stages.antispam.rules import (
    parse_duration,
    parse_rules_toml,
    read_rules_file,
    site_overrides,
)

__all__ = ["DEFAULT_REVIEW", "ReviewBook", "ReviewRules"]

_CHANNELS: tuple[Channel, ...] = ("terminal", "web")


_INTS = {"run_min_presses", "run_hug", "one_sided_min_presses", "hours_min_presses",
         "burst_min_presses", "burst_max_presses", "burst_min_count", "burst_context",
         "rhythm_min_presses", "rhythm_min_count"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """Thresholds of the four patterns for one channel at one site (docs/review.md).

    ``run_probability``, ``run_context``, ``burst_max_gap``, ``burst_min_presses`` and
    ``burst_min_ratio`` (first round), ``rhythm_chance``, ``rhythm_min_count`` and
    ``rhythm_min_presses`` (second round), ``burst_probability``, ``run_probability`` and
    ``run_hug`` (third round) were chosen by ``benchmarks/misuse_tune.py`` on its train seeds only;
    the fourth round's grids (``run_probability`` x ``run_split``) kept them.
    """

    # one-button run: the same button far more often than the device's usual pace and mix
    one_button_run: bool = True
    run_min_presses: int = 8
    run_probability: float = 2e-4
    run_min_share: float = 0.5
    run_min_gap: timedelta = timedelta(seconds=5)
    run_max_gap: timedelta = timedelta(minutes=4)
    run_hug: int = 0
    run_split: float = 3.0
    run_windows: tuple[timedelta, ...] = tuple(
        timedelta(minutes=m) for m in (1, 2, 3, 5, 10, 20, 30)
    )
    run_context: timedelta = timedelta(minutes=60)
    run_idle_cap: timedelta = timedelta(minutes=10)
    mix_prior: float = 20.0
    # recurring bursts: short bursts of one button, again and again over a city day
    recurring_bursts: bool = True
    burst_min_presses: int = 5
    burst_max_presses: int = 12
    burst_max_gap: timedelta = timedelta(seconds=20)
    burst_min_count: int = 3
    burst_probability: float = 3e-3
    burst_min_ratio: float = 10.0
    burst_context: int = 30
    # ... and bursts that keep a rhythm (gaps more even than the desk's own short gaps)
    rhythm_chance: float = 0.05
    rhythm_min_presses: int = 4
    rhythm_min_count: int = 2
    # one-sided hour: a device turns to one side while its neighbours do not move
    one_sided_hour: bool = True
    one_sided_min_presses: int = 12
    one_sided_share: float = 0.9
    one_sided_probability: float = 1e-7
    one_sided_min_shift: float = 0.3
    neighbour_max_shift: float = 0.25
    one_sided_context: timedelta = timedelta(hours=4)
    # presses outside the site's opening hours (catalogue `opening_hours`)
    outside_hours: bool = True
    hours_grace: timedelta = timedelta(minutes=15)
    hours_min_presses: int = 3
    hours_max_gap: timedelta = timedelta(minutes=60)

    def __post_init__(self) -> None:
        for name in _INTS:
            value, least = getattr(self, name), 0 if name in ("run_hug", "burst_context") else 2
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise RulesError(f"review: {name} must be an integer >= {least}, got {value!r}")
        for name in ("run_probability", "one_sided_probability", "burst_probability"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise RulesError(f"review: {name} must be a probability in (0, 1), got {value}")
        for name in (
            "run_min_share",
            "one_sided_share",
            "one_sided_min_shift",
            "neighbour_max_shift",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise RulesError(f"review: {name} must be a share in [0, 1], got {value}")
        if not 0 <= self.rhythm_chance < 1:
            raise RulesError(f"review: rhythm_chance must be in [0, 1), got {self.rhythm_chance}")
        if self.burst_min_ratio < 1:
            raise RulesError(f"review: burst_min_ratio must be >= 1, got {self.burst_min_ratio}")
        if self.run_split < 1:
            raise RulesError(f"review: run_split must be >= 1, got {self.run_split}")
        if self.mix_prior < 0:
            raise RulesError(f"review: mix_prior must be >= 0, got {self.mix_prior}")
        if not self.run_windows or min(self.run_windows) <= timedelta(0):
            raise RulesError("review: run_windows must list positive durations, e.g. ['5m']")


_FIELDS = {f.name: f for f in fields(ReviewRules)}
_BOOLS = {"one_button_run", "recurring_bursts", "one_sided_hour", "outside_hours"}

DEFAULT_REVIEW: Mapping[Channel, ReviewRules] = {
    "terminal": ReviewRules(),
    # One widget serves many visitors at once (no desk to lift: visitor_limit guards each
    # visitor), its traffic swings by the hour, and web pages never close.
    "web": ReviewRules(one_button_run=False, recurring_bursts=False, outside_hours=False),
}


def _value(key: str, value: Any, where: str) -> Any:
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise RulesError(f"[{where}] {key} must be true or false, got {value!r}")
        return value
    if key in _INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RulesError(f"[{where}] {key} must be an integer, got {value!r}")
        return value
    if key == "run_windows":
        if not isinstance(value, list):
            raise RulesError(f'[{where}] run_windows must be a list like ["5m", "10m"]')
        return tuple(parse_duration(v) for v in value)
    default = getattr(DEFAULT_REVIEW["terminal"], key)
    if isinstance(default, timedelta):
        return parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"[{where}] {key} must be a number, got {value!r}")
    return float(value)


def _apply(base: ReviewRules, table: Mapping[str, Any], where: str) -> ReviewRules:
    keys = {k: v for k, v in table.items() if not isinstance(v, dict)}
    unknown = sorted(set(keys) - set(_FIELDS))
    if unknown:
        raise RulesError(
            f"[{where}]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}"
        )
    try:
        return replace(base, **{k: _value(k, v, where) for k, v in keys.items()})
    except RulesError as exc:
        raise RulesError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class ReviewBook:
    """Review thresholds per channel, overridable per site."""

    channels: Mapping[Channel, ReviewRules] = field(default_factory=lambda: dict(DEFAULT_REVIEW))
    sites: Mapping[tuple[str, Channel], ReviewRules] = field(default_factory=dict)

    def for_device(self, channel: Channel, site_id: str | None) -> ReviewRules:
        if site_id is not None:
            rules = self.sites.get((site_id, channel))
            if rules is not None:
                return rules
        return self.channels[channel]

    @classmethod
    def from_toml(cls, text: str, *, source: str = "rules") -> ReviewBook:
        document = parse_rules_toml(text, source)
        review = document.get("review", {})
        if not isinstance(review, dict):
            raise RulesError(f"{source}: `review` must be a table [review]")
        extra = sorted(k for k, v in review.items() if isinstance(v, dict) and k not in {
            *_CHANNELS, "sites"})  # fmt: skip
        if extra:
            raise RulesError(
                f"{source}: unknown table(s) review.{', review.'.join(extra)}; "
                "use [review], [review.terminal], [review.web], [review.sites.<site>.<channel>]"
            )
        channels: dict[Channel, ReviewRules] = {}
        for ch in _CHANNELS:
            common = _apply(DEFAULT_REVIEW[ch], review, f"{source}: review")
            channels[ch] = _apply(common, review.get(ch, {}), f"{source}: review.{ch}")
        sites = site_overrides(
            review.get("sites", {}), channels, _apply, source=source, prefix="review.sites"
        )
        return cls(channels=channels, sites=sites)

    @classmethod
    def load(cls, path: Path | None) -> ReviewBook:
        """Thresholds from the ``[review]`` part of a rules file; ``None``: built-in defaults."""
        if path is None:
            return cls()
        return cls.from_toml(read_rules_file(path), source=str(path))
