"""Errors raised on purpose by the stream stage."""

from __future__ import annotations

from civicpulse.schemas.exceptions import CivicpulseError

__all__ = ["RulesError", "StreamError"]


class StreamError(CivicpulseError):
    """Root of the stream stage's errors."""


class RulesError(StreamError):
    """The anti-spam rules file is not valid: fix the named key and run again."""
