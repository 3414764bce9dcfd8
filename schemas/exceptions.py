"""The project's root error. Every package raises subclasses from its own ``exceptions`` module."""

__all__ = ["CivicpulseError"]


class CivicpulseError(Exception):
    """Base of every error civicpulse raises on purpose. Messages say what to do next."""
