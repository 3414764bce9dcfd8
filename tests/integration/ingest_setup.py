"""A small city for ingest tests: catalogue, device keys and settings on the real broker."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from civicpulse.api.ingest.keys import DeviceKeys
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.settings import Settings

__all__ = ["KEYS", "ORIGIN", "ServerThread", "make_catalogue", "make_keys", "make_settings"]

ORIGIN = "https://www.city.example"
KEYS = {
    "term-1": "key-term-1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "term-2": "key-term-2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "kiosk-1": "key-kiosk-1-cccccccccccccccccccccccccccccc",
    "old-1": "key-old-1-dddddddddddddddddddddddddddddddd",
    "web-1": "key-web-1-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
    "ghost-1": "key-ghost-1-ffffffffffffffffffffffffffffff",
}


def make_catalogue() -> Catalogue:
    def device(device_id: str, channel: str, **extra: str) -> dict[str, object]:
        return {
            "device_id": device_id,
            "channel": channel,
            "site_id": "town-hall-1",
            "department_id": "civil-affairs",
            "questions": [{"question_id": "q-service", "valid_from": "2024-01-01T00:00:00Z"}],
            "active_from": "2024-01-01T00:00:00Z",
            **extra,
        }

    return Catalogue.model_validate(
        {
            "departments": [{"department_id": "civil-affairs", "name": "Civil affairs"}],
            "sites": [
                {"site_id": "town-hall-1", "department_id": "civil-affairs", "name": "Town hall"}
            ],
            "questions": [
                {
                    "question_id": "q-service",
                    "text": {
                        "pl": "Jak oceniasz obsługę w urzędzie?",
                        "en": "How was our service today?",
                    },
                    "kind": "citizen",
                }
            ],
            "devices": [
                device("term-1", "terminal"),
                device("term-2", "terminal"),
                device("kiosk-1", "terminal"),
                device("old-1", "terminal", retired_at="2024-06-01T00:00:00Z"),
                device("web-1", "web"),
            ],
        }
    )


def make_keys(path: Path) -> DeviceKeys:
    keys = DeviceKeys(path)
    for device_id, key in KEYS.items():
        keys.set_key(device_id, key)
    return keys


def make_settings(bootstrap: str, prefix: str, data_dir: Path) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        data_dir=data_dir,
        api_cors_origins=[ORIGIN],
    )


class ServerThread:
    """A real uvicorn server for an app on 127.0.0.1:<port>, in a thread of this process."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        from civicpulse.api.serving import uvicorn_options

        options = uvicorn_options(app.state.ingest.settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{port}", daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
