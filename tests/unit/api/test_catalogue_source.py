"""Which devices ingest accepts now: unknown, retired, active."""

from __future__ import annotations

from datetime import UTC, datetime

from civicpulse.api.ingest.catalogue_source import device_status
from civicpulse.schemas.catalogue import Catalogue

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CATALOGUE = Catalogue.model_validate(
    {
        "devices": [
            {
                "device_id": "live",
                "channel": "terminal",
                "site_id": "s",
                "department_id": "d",
                "active_from": "2025-01-01T00:00:00Z",
            },
            {
                "device_id": "gone",
                "channel": "terminal",
                "site_id": "s",
                "department_id": "d",
                "active_from": "2025-01-01T00:00:00Z",
                "retired_at": "2025-05-01T00:00:00Z",
            },
            {
                "device_id": "moved",
                "channel": "terminal",
                "site_id": "s",
                "department_id": "d",
                "active_from": "2025-01-01T00:00:00Z",
                "retired_at": "2025-05-01T00:00:00Z",
            },
            {
                "device_id": "moved",
                "channel": "web",
                "site_id": "s",
                "department_id": "d",
                "active_from": "2025-05-01T00:00:00Z",
            },
            {
                "device_id": "later",
                "channel": "web",
                "site_id": "s",
                "department_id": "d",
                "active_from": "2025-07-01T00:00:00Z",
            },
        ]
    }
)


def test_device_statuses() -> None:
    assert device_status(CATALOGUE, "nope", NOW) == ("unknown", None)
    assert device_status(CATALOGUE, "gone", NOW)[0] == "retired"
    status, device = device_status(CATALOGUE, "live", NOW)
    assert status == "active" and device is not None and device.channel == "terminal"
    status, device = device_status(CATALOGUE, "moved", NOW)
    assert status == "active" and device is not None and device.channel == "web"
    status, device = device_status(CATALOGUE, "later", NOW)  # the stream judges it before July
    assert status == "active" and device is not None and device.channel == "web"
