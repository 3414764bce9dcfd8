"""Push dashboards to a running Grafana with grafana-client, idempotently.

Grafana's ``POST /api/dashboards/db`` replaces the dashboard with the same ``uid`` when
``overwrite`` is true and the body carries no numeric ``id``: pushing twice updates, it never
creates a duplicate. :func:`push_payload` is that body (pure, tested without a server).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from civicpulse.dashboards.exceptions import PushError

__all__ = ["FOLDER_TITLE", "FOLDER_UID", "load_dashboards", "push", "push_payload"]

FOLDER_UID = "civicpulse"
FOLDER_TITLE = "civicpulse"


def push_payload(dashboard: dict[str, Any], folder_uid: str = FOLDER_UID) -> dict[str, Any]:
    """The request body that creates or replaces ``dashboard`` by its uid."""
    uid = dashboard.get("uid")
    if not isinstance(uid, str) or not uid.startswith("civicpulse-"):
        raise PushError(f"dashboard {dashboard.get('title')!r} has no civicpulse- uid: {uid!r}")
    body = {key: value for key, value in dashboard.items() if key not in ("id", "version")}
    return {
        "dashboard": {**body, "id": None},
        "folderUid": folder_uid,
        "overwrite": True,
        "message": "civicpulse dashboards push",
    }


def load_dashboards(directory: Path) -> list[dict[str, Any]]:
    """Every ``*.json`` dashboard of a ``dashboards build`` output (OUT_DIR or its
    ``dashboards/`` folder), sorted by name."""
    if (directory / "dashboards").is_dir():
        directory = directory / "dashboards"
    files = sorted(directory.glob("*.json"))
    if not files:
        raise PushError(
            f"no dashboard JSON in {directory}: run `civicpulse dashboards build` first"
        )
    return [json.loads(path.read_text(encoding="utf-8")) for path in files]


def _ensure_folder(api: Any, folder_uid: str) -> None:
    from grafana_client.client import GrafanaClientError

    try:
        api.folder.get_folder(folder_uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=folder_uid)


def push(
    url: str, token: str, dashboards: Iterable[dict[str, Any]], folder_uid: str = FOLDER_UID
) -> list[dict[str, Any]]:
    """Create or update every dashboard in ``folder_uid``; returns Grafana's answers."""
    from grafana_client.api import GrafanaApi
    from grafana_client.client import GrafanaException
    from niquests.exceptions import RequestException

    api = GrafanaApi.from_url(url, credential=token)
    answers = []
    try:
        _ensure_folder(api, folder_uid)
        for dashboard in dashboards:
            answers.append(api.dashboard.update_dashboard(push_payload(dashboard, folder_uid)))
    except GrafanaException as exc:
        raise PushError(f"Grafana at {url} refused: {exc.status_code} {exc.message}") from exc
    except RequestException as exc:
        raise PushError(f"cannot reach Grafana at {url}: {exc}; check --url") from exc
    return answers
