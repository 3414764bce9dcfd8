"""Wires the query API into the app: token store, settings for ClickHouse, routers."""

from __future__ import annotations

from fastapi import FastAPI

from civicpulse.api.alerts import actions as alert_actions
from civicpulse.api.alerts import stream as alert_stream
from civicpulse.api.pages import public
from civicpulse.api.query import routes as queries
from civicpulse.api.query import standards
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.schemas.settings import Settings

__all__ = ["install_queries"]


def install_queries(app: FastAPI, settings: Settings, tokens: ApiTokens | None = None) -> None:
    """Mount ``/v1`` queries and the alert stream; tokens default to the data dir's store plus
    ``CIVICPULSE_API_TOKEN``."""
    extra = (settings.api_token.get_secret_value(),) if settings.api_token else ()
    app.state.api_tokens = tokens or ApiTokens.in_data_dir(settings.data_dir, extra)
    app.state.query_settings = settings
    app.include_router(queries.router)
    app.include_router(standards.router)
    app.include_router(public.router)
    app.include_router(alert_stream.router)
    app.include_router(alert_actions.router)
