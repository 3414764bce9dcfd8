"""Write the dashboards and Grafana's provisioning files into one directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from civicpulse.dashboards.provisioning import datasource_yaml, provider_yaml
from civicpulse.dashboards.render import dashboard_json
from civicpulse.dashboards.specs import boards
from civicpulse.schemas.settings import Settings

__all__ = ["Built", "build"]


@dataclass(frozen=True)
class Built:
    dashboards: list[Path]
    datasource: Path
    provider: Path


def build(out_dir: Path, settings: Settings, dashboards_path: str | None = None) -> Built:
    """``OUT/dashboards/<uid>.json``, ``OUT/provisioning/{datasources,dashboards}/civicpulse.yaml``.

    ``dashboards_path`` is the folder as Grafana sees it (e.g. inside a container); by default
    the absolute path of ``OUT/dashboards`` on this machine.
    """
    board_dir = out_dir / "dashboards"
    board_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for board in boards(settings.city_timezone):
        path = board_dir / f"{board.uid}.json"
        path.write_text(json.dumps(dashboard_json(board), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    datasource = out_dir / "provisioning" / "datasources" / "civicpulse.yaml"
    provider = out_dir / "provisioning" / "dashboards" / "civicpulse.yaml"
    for path in (datasource, provider):
        path.parent.mkdir(parents=True, exist_ok=True)
    datasource.write_text(datasource_yaml(settings), encoding="utf-8")
    provider.write_text(provider_yaml(dashboards_path or board_dir.resolve()), encoding="utf-8")
    return Built(written, datasource, provider)
