"""``POST /v1/presses`` (terminals), ``/healthz`` and ``/readyz``.

Status codes, checked in this order (413 and 408 come from :mod:`civicpulse.api.edge`, which
counts the body as it arrives):

* 401 ``X-Device-Id`` or ``X-Device-Key`` missing, or the key is not a key of that device;
* 429 too many wrong keys lately for this device id or from this address (``Retry-After``):
  checked before the costly scrypt comparison; a key this process already verified skips it;
* 404 the device is not in the catalogue; 410 it is retired (every catalogue entry has
  ``retired_at`` in the past; drain a terminal's buffer before retiring it); 403 it is not a
  ``terminal`` device (web widgets post to ``/v1/web/presses``);
* 413 body over ``max_body_bytes`` or more than ``max_batch`` events; 408 body too slow;
* 422 the body or any event is invalid (including a ``pressed_at`` before 2000 or further ahead
  of the server's clock than any rule's ``max_future`` plus a margin, a number for a time, a
  ``visitor``); nothing of the batch is produced and ``detail`` lists every problem with the
  event's ``index``, the ``field`` and a message;
* 403 an event names another device than the authenticated one;
* 503 the broker did not acknowledge every press (``Retry-After``; resend the whole batch:
  ``event_id`` deduplicates downstream);
* 202 every press is on ``presses.raw`` with ``acks=all``: a 202 means durable.

``received_at`` is the API's clock when the request arrived; a client-sent one is ignored.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from civicpulse.api import metrics
from civicpulse.api.ingest.catalogue_source import device_status
from civicpulse.api.ingest.models import (
    BatchAccepted,
    EventError,
    PressBatch,
    PressIn,
    ProblemDetail,
    WebPressIn,
)
from civicpulse.api.ingest.state import IngestState, get_state
from civicpulse.producers.kafka_producer import Delivery
from civicpulse.schemas.events import PressEvent, future_problem
from civicpulse.schemas.validation import flat_errors

__all__ = ["errors_of", "future_errors", "problem", "publish_response", "router"]

router = APIRouter()


def problem(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def errors_of(
    exc: ValidationError, index: int | None, event_id: Any = None
) -> list[dict[str, Any]]:
    """Pydantic errors as precise, flat records: which event, which field, what is wrong."""
    return [
        EventError(
            index=index,
            event_id=str(event_id) if event_id is not None else None,
            field=err["field"] or "event",
            message=err["message"],
            type=err["type"],
        ).model_dump()
        for err in flat_errors(exc.errors(include_url=False))
    ]


async def publish_response(
    state: IngestState, events: list[PressEvent]
) -> list[Delivery] | JSONResponse:
    retry = {"Retry-After": str(state.options.retry_after_seconds)}
    if state.publisher is None:
        return problem(503, "no broker configured for ingest", retry)
    deliveries = await state.publisher.publish(events)
    if all(d.ok for d in deliveries):
        return deliveries
    failed = [d for d in deliveries if not d.ok]
    return problem(
        503,
        f"the broker did not acknowledge {len(failed)} of {len(deliveries)} presses "
        f"({failed[0].error}); resend the batch",
        retry,
    )


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemDetail, "description": "device key missing or wrong"},
    403: {
        "model": ProblemDetail,
        "description": "not a terminal device, or an event of another device",
    },
    404: {"model": ProblemDetail, "description": "device not in the catalogue"},
    410: {"model": ProblemDetail, "description": "device retired"},
    408: {"model": ProblemDetail, "description": "the body did not arrive in time"},
    413: {"model": ProblemDetail, "description": "batch too large"},
    422: {"model": ProblemDetail, "description": "invalid body or event; nothing produced"},
    429: {"model": ProblemDetail, "description": "too many wrong keys; see Retry-After"},
    503: {"model": ProblemDetail, "description": "broker did not acknowledge; retry"},
}

_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PressBatch"}}},
    }
}


@router.post(
    "/v1/presses",
    status_code=202,
    response_model=BatchAccepted,
    responses=_ERRORS,
    openapi_extra=_BATCH_BODY,
    summary="Ingest a batch of presses from one terminal",
    tags=["ingest"],
)
async def post_presses(
    request: Request,
    state: Annotated[IngestState, Depends(get_state)],
    x_device_id: Annotated[str | None, Header(description="the terminal's device_id")] = None,
    x_device_key: Annotated[str | None, Header(description="the terminal's key")] = None,
) -> Any:
    received_at = datetime.now(UTC)
    if not x_device_id or not x_device_key:
        return problem(401, "send the X-Device-Id and X-Device-Key headers")
    refused = await _authenticate(state, request, x_device_id, x_device_key)
    if refused is not None:
        return refused
    status, device = device_status(state.catalogue.get(), x_device_id, received_at)
    if status == "unknown":
        return problem(404, f"device {x_device_id} is not in the catalogue")
    if status == "retired":
        return problem(410, f"device {x_device_id} is retired")
    if device is not None and device.channel != "terminal":
        return problem(
            403, f"device {x_device_id} is a {device.channel} device; use /v1/web/presses"
        )

    # The edge middleware cut the body off at max_body_bytes while it arrived (413).
    body = await request.body()
    parsed = _parse_batch(body, state.options.max_batch)
    if isinstance(parsed, JSONResponse):
        return parsed
    too_late = future_errors(parsed, received_at, state.options.future_limit)
    if too_late:
        return problem(422, too_late)
    foreign = [i for i, press in enumerate(parsed) if press.device_id != x_device_id]
    if foreign:
        return problem(403, f"events {foreign[:20]} belong to another device than {x_device_id}")

    events = [press.to_event(received_at) for press in parsed]
    outcome = await publish_response(state, events)
    if isinstance(outcome, JSONResponse):
        return outcome
    results = [
        {
            "index": i,
            "event_id": d.event_id,
            "status": "accepted",
            "partition": d.partition,
            "offset": d.offset,
        }
        for i, d in enumerate(outcome)
    ]
    metrics.PRESSES_ACCEPTED.labels("terminal").inc(len(results))
    return JSONResponse({"accepted": len(results), "results": results}, status_code=202)


async def _authenticate(
    state: IngestState, request: Request, device_id: str, key: str
) -> JSONResponse | None:
    """None when ``key`` is a key of ``device_id``; else the 401 or 429 to answer."""
    if state.keys.check_cached(device_id, key):
        return None
    # Guessing is limited per device id and per address, looked at before the scrypt work and
    # charged only for wrong keys; the semaphore keeps concurrent guesses from all passing one
    # look at a nearly empty bucket (and bounds the threads scrypt can take).
    by_device = hashlib.sha256(device_id.encode()).hexdigest()
    by_ip = state.request_ip_key(request)
    async with state.key_checks:
        wait = max(state.wrong_key_by_device.wait(by_device), state.wrong_key_by_ip.wait(by_ip))
        if wait > 0:
            return problem(
                429,
                "too many wrong device keys; wait before trying again",
                {"Retry-After": str(math.ceil(wait))},
            )
        if await run_in_threadpool(state.keys.check, device_id, key):
            return None
        state.wrong_key_by_device.acquire(by_device)
        state.wrong_key_by_ip.acquire(by_ip)
    return problem(401, "wrong device key for this device_id")


def future_errors(
    presses: Sequence[PressIn | WebPressIn], received_at: datetime, limit: timedelta
) -> list[dict[str, Any]]:
    """422 records for presses too far ahead of ``received_at`` for any rule to count."""
    errors = []
    for index, press in enumerate(presses):
        message = future_problem(press.pressed_at, received_at, limit)
        if message is not None:
            errors.append(
                EventError(
                    index=index if isinstance(press, PressIn) else None,
                    event_id=str(press.event_id),
                    field="pressed_at" if isinstance(press, PressIn) else "body.pressed_at",
                    message=message,
                    type="pressed_at_in_future",
                ).model_dump()
            )
    return errors


def _parse_batch(body: bytes, max_batch: int) -> list[PressIn] | JSONResponse:
    def body_error(message: str) -> JSONResponse:
        return problem(
            422,
            [
                {
                    "index": None,
                    "event_id": None,
                    "field": "body",
                    "message": message,
                    "type": "body",
                }
            ],
        )

    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return body_error(f"not JSON: {exc}")
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        return body_error('expected an object {"events": [...]}')
    items: list[Any] = raw["events"]
    if not items:
        return body_error("`events` is empty")
    if len(items) > max_batch:
        return problem(413, f"{len(items)} events in one batch; the limit is {max_batch}")
    presses: list[PressIn] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            presses.append(PressIn.model_validate(item))
        except ValidationError as exc:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            errors.extend(errors_of(exc, index, event_id))
    return problem(422, errors) if errors else presses


@router.get("/healthz", tags=["ops"], summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["ops"],
    summary="The broker is reachable and presses.raw exists",
    responses={503: {"description": "not ready: broker unreachable or topic missing"}},
)
async def readyz(state: Annotated[IngestState, Depends(get_state)]) -> JSONResponse:
    ready, detail = await state.readiness.check()
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "detail": detail},
        status_code=200 if ready else 503,
    )


def batch_schema_components() -> dict[str, Any]:
    """The request schema of ``POST /v1/presses`` for the OpenAPI document's components."""
    schema = PressBatch.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components["PressBatch"] = schema
    return components
