"""What a query endpoint reads from the app, in one place for every router under ``/v1`` and
the public pages: the settings ``install_queries`` stored, a ClickHouse client made from them,
the current catalogue, and the orjson response the JSON endpoints answer with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.settings import Settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["OrjsonResponse", "current_catalogue", "query_client", "query_settings"]


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson (datetimes, UUIDs and large pages without the stdlib's cost)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def query_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.query_settings
    return settings


def query_client(request: Request) -> Client:
    from civicpulse.sink.clickhouse import create_client

    return create_client(query_settings(request))


def current_catalogue(request: Request) -> Catalogue:
    """The catalogue the ingest side follows; empty in an app without one (a read-only API)."""
    ingest = getattr(request.app.state, "ingest", None)
    return Catalogue() if ingest is None else ingest.catalogue.get()
