"""The one parser of the durations users write: rules TOML (``"5s"``, ``"24h"``), command
options (``--duration 10m``), ``"1h30m"``, ``"500ms"``, ``"0s"``.

A duration is one or more ``<number><unit>`` parts with the units ``ms``, ``s``, ``m``, ``h``,
``d`` (spaces ignored); the result is exact to the microsecond. Callers decide what a zero means
(a rule may switch a check off with ``"0s"``; a run cannot last zero seconds).
"""

from __future__ import annotations

import re
from datetime import timedelta

from civicpulse.schemas.exceptions import DurationError

__all__ = ["DURATION_EXAMPLES", "parse_duration"]

DURATION_EXAMPLES = '"5s", "10m", "1h30m", "7d", "500ms"'

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_US = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


def parse_duration(text: object) -> timedelta:
    """``"1h30m"`` -> ``timedelta(hours=1, minutes=30)``; a :class:`DurationError` otherwise."""
    if not isinstance(text, str):
        raise DurationError(f"durations are strings like {DURATION_EXAMPLES}, got {text!r}")
    compact = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_US[match.group(2)]
        pos = match.end()
    if not compact or pos != len(compact):
        raise DurationError(
            f"bad duration {text!r}: use a number and a unit ms|s|m|h|d, e.g. {DURATION_EXAMPLES}"
        )
    return timedelta(microseconds=round(total))
