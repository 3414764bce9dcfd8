"""Errors of the alert delivery service."""

from __future__ import annotations

from civicpulse.sink.exceptions import SinkError

__all__ = ["DeliveryError", "SubscriptionError"]


class DeliveryError(SinkError):
    """Root of every error of ``civicpulse.sink.delivery``."""


class SubscriptionError(DeliveryError, ValueError):
    """The subscriptions file cannot be read or is not valid; the message names the line."""
