"""The body `dashboards push` sends: Grafana replaces a dashboard by uid only when `overwrite`
is true and no numeric id is sent, which is what makes a second push an update."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicpulse.dashboards.build import build
from civicpulse.dashboards.exceptions import PushError
from civicpulse.dashboards.push import load_dashboards, push_payload
from civicpulse.schemas.settings import Settings


def test_payload_overwrites_by_uid_without_id_or_version() -> None:
    dashboard = {"uid": "civicpulse-site", "title": "t", "id": 42, "version": 7, "panels": []}
    payload = push_payload(dashboard, "folder-x")
    assert payload["overwrite"] is True and payload["folderUid"] == "folder-x"
    assert payload["dashboard"]["uid"] == "civicpulse-site"
    assert payload["dashboard"]["id"] is None and "version" not in payload["dashboard"]
    assert dashboard["id"] == 42  # the caller's dict is left alone


def test_payload_is_the_same_on_every_push() -> None:
    dashboard = {"uid": "civicpulse-site", "title": "t"}
    assert json.dumps(push_payload(dashboard)) == json.dumps(push_payload(dict(dashboard)))


@pytest.mark.parametrize("uid", [None, "", "other-site"])
def test_payload_refuses_a_dashboard_without_a_civicpulse_uid(uid: str | None) -> None:
    with pytest.raises(PushError, match="civicpulse- uid"):
        push_payload({"uid": uid, "title": "t"})


def test_load_reads_a_build_output(tmp_path: Path) -> None:
    build(tmp_path, Settings(data_dir=tmp_path))
    assert len(load_dashboards(tmp_path)) == len(load_dashboards(tmp_path / "dashboards")) == 9
    with pytest.raises(PushError, match="dashboards build"):
        load_dashboards(tmp_path / "provisioning")
