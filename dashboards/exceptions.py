"""Errors of the dashboards stage, under the project's one root error."""

from __future__ import annotations

from civicpulse.schemas.exceptions import CivicpulseError

__all__ = ["DashboardError", "MacroError", "PushError"]


class DashboardError(CivicpulseError):
    """Building, provisioning or pushing dashboards failed."""


class MacroError(DashboardError):
    """Panel SQL uses a macro or variable the ClickHouse plugin would not expand as written."""


class PushError(DashboardError):
    """Grafana refused a dashboard; the message says which and why."""
