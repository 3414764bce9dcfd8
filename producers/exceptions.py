"""Errors raised by the producers package."""

from __future__ import annotations

from civicpulse.schemas.exceptions import CivicpulseError

__all__ = ["BufferFullError", "DeliveryError", "ProducerError", "SimulationError"]


class ProducerError(CivicpulseError):
    """A producer could not be created or used."""


class DeliveryError(ProducerError):
    """The broker (or the ingest API) did not confirm a press."""


class BufferFullError(ProducerError):
    """The terminal's offline buffer is full: the press was NOT recorded.

    Dropping the oldest press would be silent data loss, so the terminal refuses new presses
    instead and shows this error until the buffer drains.
    """


class SimulationError(ProducerError):
    """The load simulator was given arguments it cannot simulate."""
