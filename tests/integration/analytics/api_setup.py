"""A query-API app over the simulated day of :mod:`.data` on the real engine, and the independent
Python recomputations its answers are compared with."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from civicpulse.api.app import create_app
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import AlertEvent, JudgedPress
from civicpulse.schemas.settings import Settings
from civicpulse.sink.rows import ALERT_COLUMNS, alert_row

from .data import DAY_END, DAY_START, TZ

__all__ = [
    "ENV_TOKEN",
    "alerts_for",
    "counted",
    "insert_alerts",
    "make_query_app",
    "walk",
]

ENV_TOKEN = "env-token-for-automation-0123456789abcdef"


def _catalogue() -> Catalogue:
    return Catalogue.model_validate(
        {
            "departments": [
                {"department_id": "dep-a", "name": "Civil affairs"},
                {"department_id": "dep-b", "name": "Transport"},
            ],
            "sites": [
                {"site_id": "site-a", "department_id": "dep-a", "name": "Town hall"},
                {"site_id": "site-b", "department_id": "dep-a", "name": "North office"},
                {"site_id": "site-c", "department_id": "dep-b", "name": "Depot"},
            ],
        }
    )


def make_query_app(settings: Settings, data_dir: Path) -> tuple[FastAPI, str]:
    """The full app (ingest + queries) on ``settings``' database; returns it and a stored token."""
    query_settings = settings.model_copy(
        update={"data_dir": data_dir, "city_timezone": TZ, "api_token": SecretStr(ENV_TOKEN)}
    )
    token = ApiTokens.in_data_dir(data_dir).add("tests")
    # no api_tokens given: the app builds its store from settings, as in production
    app = create_app(query_settings, catalogue=_catalogue())
    return app, token


def counted(presses: Sequence[JudgedPress], start: datetime, end: datetime) -> list[JudgedPress]:
    """Counted presses in [start, end), each event once (the stored table keeps one row)."""
    seen: set[uuid.UUID] = set()
    out = []
    for press in presses:
        fresh = press.event_id not in seen
        if fresh and press.verdict == "counted" and start <= press.pressed_at < end:
            seen.add(press.event_id)
            out.append(press)
    return out


def alerts_for(start: datetime = DAY_START) -> list[AlertEvent]:
    """Six alerts across two departments, three of them resolved an hour later."""
    events = []
    for i in range(6):
        opened_at = start + timedelta(hours=2 * i, minutes=7)
        common = {
            "alert_id": uuid.UUID(int=1000 + i),
            "scope": "department" if i % 2 else "site",
            "scope_id": "dep-a" if i % 2 else "site-c",
            "department_id": "dep-a" if i % 2 else "dep-b",
            "mode": "threshold",
            "score": 20.0 + i,
            "n": 5 + i,
            "threshold": 50.0,
            "window_start": opened_at - timedelta(minutes=15),
            "window_end": opened_at,
        }
        events.append(AlertEvent.model_validate({**common, "state": "opened", "at": opened_at}))
        if i < 3:
            resolved = opened_at + timedelta(hours=1)
            events.append(
                AlertEvent.model_validate({**common, "state": "resolved", "at": resolved})
            )
    return events


def insert_alerts(client: Client, alerts: Sequence[AlertEvent]) -> None:
    client.insert("alerts", [alert_row(a) for a in alerts], column_names=list(ALERT_COLUMNS))


def walk(
    client: TestClient, path: str, params: dict[str, Any], token: str
) -> Iterator[dict[str, Any]]:
    """Every item of a paged endpoint, following next_cursor to the end."""
    cursor = None
    while True:
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(
            path, params=page_params, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        yield from body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return


def heatmap_of(
    presses: Sequence[JudgedPress], kind: str = "citizen"
) -> dict[tuple[int, int], Counter[int]]:
    zone = ZoneInfo(TZ)
    cells: dict[tuple[int, int], Counter[int]] = defaultdict(Counter)
    for press in presses:
        if (press.question_kind or "citizen") != kind or press.site_id is None:
            continue
        local = press.pressed_at.astimezone(zone)
        cells[(local.isoweekday(), local.hour)][press.button] += 1
    return cells


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


RANGE = {"from": iso(DAY_START - timedelta(hours=3)), "to": iso(DAY_END + timedelta(hours=6))}
