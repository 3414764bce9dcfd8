"""Errors raised by the API package."""

from __future__ import annotations

from civicpulse.schemas.exceptions import CivicpulseError

__all__ = ["ApiError", "KeyStoreError"]


class ApiError(CivicpulseError):
    """The API cannot start or serve as configured."""


class KeyStoreError(ApiError):
    """The device-key store cannot be read or written."""
