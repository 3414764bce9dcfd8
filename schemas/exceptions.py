"""The project's root error. Every package raises subclasses from its own ``exceptions`` module."""

__all__ = ["CivicpulseError", "DurationError"]


class CivicpulseError(Exception):
    """Base of every error civicpulse raises on purpose. Messages say what to do next."""


class DurationError(CivicpulseError, ValueError):
    """A duration string (``"5s"``, ``"1h30m"``) that does not parse."""
