"""The API's Prometheus metrics and its ``GET /metrics`` (no token, like ``/healthz``).

``/metrics`` renders prometheus_client's default registry: in ``civicpulse up`` the sink runs
in the API's process, so its ``civicpulse_sink_*`` metrics appear here too (``sink.metrics``).
The stream worker's families are left out (``ProcessFamilies``): the top-level CLI imports every
command, which defines them in this process too, where they would only ever read 0 beside the
worker's own /metrics.
Labels stay bounded: a request is labelled with its route *template* (``/v1/devices/{device_id}
/question``, never a device id), ``unmatched`` when no route takes it (or the edge answered a
path other than the press endpoints before routing).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PRESSES_ACCEPTED", "ProcessFamilies", "RequestMetrics", "router"]

REQUESTS = Counter(
    "civicpulse_api_requests",
    "HTTP requests answered, by route template, method and status code",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "civicpulse_api_request_seconds",
    "Seconds from a request's start to its response's start, by route template",
    ["route"],
)
PRESSES_ACCEPTED = Counter(
    "civicpulse_api_presses_accepted",
    "Presses acknowledged by the broker and answered 202, by channel (terminal: a batch of "
    "POST /v1/presses; web: POST /v1/web/presses)",
    ["channel"],
)
PRESS_PATHS = {"/v1/presses": "terminal", "/v1/web/presses": "web"}
PRESSES_REFUSED = Counter(
    "civicpulse_api_press_requests_refused",
    "Press requests answered with an error (each may carry a batch), by channel and status",
    ["channel", "status"],
)

#: families of processes other than the API's (the stream worker serves its own /metrics)
OTHER_PROCESSES = ("civicpulse_stream_",)


class ProcessFamilies:
    """The default registry without the families of ``OTHER_PROCESSES`` (module doc)."""

    def collect(self) -> Iterator[Metric]:
        return (f for f in REGISTRY.collect() if not f.name.startswith(OTHER_PROCESSES))


router = APIRouter()


@router.get(
    "/metrics",
    tags=["ops"],
    summary="Prometheus metrics (text format 0.0.4); no token, like /healthz",
    response_class=PlainTextResponse,
)
async def metrics() -> Response:
    return Response(generate_latest(ProcessFamilies()), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Outermost ASGI middleware: counts every HTTP response (the edge's 413/429 included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                REQUEST_SECONDS.labels(self.template(scope)).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = self.template(scope)
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            channel = PRESS_PATHS.get(route)
            if channel is not None and status >= 400:
                PRESSES_REFUSED.labels(channel, str(status)).inc()

    @staticmethod
    def template(scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        # Answered before routing (the edge's 413/429/408) or by no route. The press paths have
        # no parameters, so the path is their template; anything else stays one bounded label.
        return scope["path"] if scope["path"] in PRESS_PATHS else "unmatched"
