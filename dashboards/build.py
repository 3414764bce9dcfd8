"""Write the dashboards and Grafana's provisioning files into one directory.

The build list: every ClickHouse board of :mod:`.specs` and the Prometheus pipeline health board
of :mod:`.health` (``dashboards``; ``push`` sends the same list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicpulse.dashboards.health import health_json
from civicpulse.dashboards.provisioning import (
    DEFAULT_PROMETHEUS_URL,
    DEFAULT_SCRAPE_INTERVAL,
    datasource_yaml,
    provider_yaml,
)
from civicpulse.dashboards.render import dashboard_json
from civicpulse.dashboards.specs import boards
from civicpulse.schemas.settings import Settings

__all__ = ["Built", "build", "dashboards"]


@dataclass(frozen=True)
class Built:
    dashboards: list[Path]
    datasource: Path
    provider: Path


def dashboards(timezone: str) -> list[dict[str, Any]]:
    """Grafana JSON of every board, for a city whose calendar is ``timezone``."""
    return [*(dashboard_json(board) for board in boards(timezone)), health_json()]


def build(
    out_dir: Path,
    settings: Settings,
    dashboards_path: str | None = None,
    *,
    prometheus_url: str = DEFAULT_PROMETHEUS_URL,
    scrape_interval: str = DEFAULT_SCRAPE_INTERVAL,
) -> Built:
    """``OUT/dashboards/<uid>.json``, ``OUT/provisioning/{datasources,dashboards}/civicpulse.yaml``.

    ``dashboards_path`` is the folder as Grafana sees it (e.g. inside a container); by default
    the absolute path of ``OUT/dashboards`` on this machine. ``prometheus_url`` and
    ``scrape_interval``: the Prometheus server of the pipeline health board.
    """
    board_dir = out_dir / "dashboards"
    board_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for board in dashboards(settings.city_timezone):
        path = board_dir / f"{board['uid']}.json"
        path.write_text(json.dumps(board, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    datasource = out_dir / "provisioning" / "datasources" / "civicpulse.yaml"
    provider = out_dir / "provisioning" / "dashboards" / "civicpulse.yaml"
    for path in (datasource, provider):
        path.parent.mkdir(parents=True, exist_ok=True)
    datasource.write_text(
        datasource_yaml(settings, prometheus_url, scrape_interval), encoding="utf-8"
    )
    provider.write_text(provider_yaml(dashboards_path or board_dir.resolve()), encoding="utf-8")
    return Built(written, datasource, provider)
