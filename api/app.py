"""The ingest API application factory.

``create_app(settings)`` wires everything from settings; tests and embedders pass their own
``publisher``, ``catalogue`` or ``device_keys``. Run it with ``civicpulse api serve`` (uvicorn
with the access log off: an access log would write client IP addresses, which this API never
stores).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from civicpulse.api import metrics
from civicpulse.api.alerts import actions as alert_actions
from civicpulse.api.edge import BodyLimits, EdgeMiddleware
from civicpulse.api.ingest import terminals as ingest
from civicpulse.api.ingest import web
from civicpulse.api.ingest.catalogue_source import CatalogueSource
from civicpulse.api.ingest.keys import DeviceKeys
from civicpulse.api.ingest.state import IngestOptions, IngestState, Publisher, Readiness
from civicpulse.api.ingest.visitors import DailySalt, VisitorHasher
from civicpulse.api.pages import assets as pages
from civicpulse.api.pages import live, phone
from civicpulse.api.pages.docs import install_docs
from civicpulse.api.query import review
from civicpulse.api.query.setup import install_queries
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.producers.kafka_producer import AsyncPublisher, presses_topic
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.settings import Settings, get_settings
from civicpulse.schemas.validation import flat_errors

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    publisher: Publisher | None = None,
    catalogue: Catalogue | None = None,
    device_keys: DeviceKeys | None = None,
    options: IngestOptions | None = None,
    api_tokens: ApiTokens | None = None,
) -> FastAPI:
    """The ingest API; without ``publisher``, one is made from settings at startup."""
    settings = settings or get_settings()
    options = options or IngestOptions.from_settings(settings)
    # The catalogue comes from the topic the stream reads (`civicpulse catalogue load`).
    source = (
        CatalogueSource(catalogue) if catalogue is not None else CatalogueSource.on_topic(settings)
    )
    state = IngestState(
        settings=settings,
        options=options,
        publisher=publisher,
        catalogue=source,
        keys=device_keys or DeviceKeys.in_data_dir(settings.data_dir),
        visitors=VisitorHasher(
            DailySalt(settings.data_dir / "visitor-salt.json", settings.city_timezone)
        ),
        readiness=Readiness(settings, presses_topic(settings), options),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = state.publisher is None
        if owned:
            state.publisher = AsyncPublisher.from_settings(settings)
        await asyncio.to_thread(source.start)
        try:
            yield
        finally:
            source.stop()
            alert_actions.close_publisher(app)
            if owned and state.publisher is not None:
                state.publisher.close()
                state.publisher = None

    app = FastAPI(
        title="civicpulse ingest API",
        version="1",
        summary="Smiley presses from terminals, kiosks and web widgets into presses.raw.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ingest = state
    # Added first, so it runs inside CORS: a 429 or 413 still carries the CORS headers the
    # widget needs to read it.
    app.add_middleware(
        EdgeMiddleware,
        limits=BodyLimits(
            batch=options.max_body_bytes,
            web=options.web_body_bytes,
            other=options.other_body_bytes,
            seconds=options.body_seconds,
        ),
        ip_limiter=lambda: state.ip_limiter,
        ip_key=state.ip_key,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.api_cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    # Added last, so it runs outermost: the edge's 413 and 429 are counted too.
    app.add_middleware(metrics.RequestMetrics)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(ingest.router)
    app.include_router(metrics.router)
    app.include_router(web.router)
    app.include_router(pages.router)
    app.include_router(phone.router)
    install_queries(app, settings, api_tokens)
    app.include_router(review.router)
    app.include_router(live.router)
    app.include_router(live.pages_router)
    install_docs(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # Same precise shape as the batch endpoint: which field, what is wrong.
    assert isinstance(exc, RequestValidationError)
    detail = [{"index": None, "event_id": None, **err} for err in flat_errors(exc.errors())]
    return JSONResponse({"detail": detail}, status_code=422)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(
            ingest.batch_schema_components()
        )
        app.openapi_schema = schema
    return app.openapi_schema
