"""The API resolves devices from the catalogue topic the stream reads, and follows it live."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civicpulse.api.app import create_app
from civicpulse.api.ingest.keys import DeviceKeys
from civicpulse.infra.topics import create_topics
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
from civicpulse.stream.catalogue.topic import publish_catalogue

from .ingest_setup import make_catalogue

pytestmark = pytest.mark.integration


def _with_web_device(catalogue: Catalogue, device_id: str) -> Catalogue:
    data = catalogue.model_dump(mode="json")
    data["devices"].append({**data["devices"][-1], "device_id": device_id, "channel": "web"})
    return Catalogue.model_validate(data)


def test_api_devices_come_from_the_topic_and_follow_each_load(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    create_topics(kafka_bootstrap, topic_prefix)
    topic = topic_name(CATALOGUE_DEVICES, topic_prefix)
    publish_catalogue(kafka_bootstrap, topic, make_catalogue())
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix, data_dir=tmp_path / "data"
    )
    app = create_app(settings, device_keys=DeviceKeys(tmp_path / "keys.json"))
    with TestClient(app) as client:
        assert client.get("/v1/web/devices/web-1/question").status_code == 200
        assert client.get("/v1/web/devices/web-new/question").status_code == 404
        publish_catalogue(kafka_bootstrap, topic, _with_web_device(make_catalogue(), "web-new"))
        deadline = time.monotonic() + 20
        while client.get("/v1/web/devices/web-new/question").status_code != 200:
            assert time.monotonic() < deadline, "the API never saw the newly loaded device"
            time.sleep(0.2)
        # web-1 is gone from the next load: its tombstone reaches the API too
        data = make_catalogue().model_dump(mode="json")
        data["devices"] = [d for d in data["devices"] if d["device_id"] != "web-1"]
        publish_catalogue(kafka_bootstrap, topic, Catalogue.model_validate(data))
        deadline = time.monotonic() + 20
        while client.get("/v1/web/devices/web-1/question").status_code != 404:
            assert time.monotonic() < deadline, "the API kept a device the topic deleted"
            time.sleep(0.2)
