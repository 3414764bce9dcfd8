"""The API's outer edge, as plain ASGI: per-IP limit, body byte limit, body read deadline.

FastAPI reads and parses a request body before it runs a route's dependencies, so a limit
written as a dependency comes too late: a 20 MB body is read and parsed before it gets its 429.
This middleware runs before routing, on the raw ASGI messages, in this order:

1. **per-IP limit** (``ip_limited`` paths: the public widget and question endpoints): 429 with
   ``Retry-After`` before a byte of the body is read;
2. **declared size**: a ``Content-Length`` over the path's limit gets 413 at once;
3. **counted size**: every ``http.request`` message is counted as the app reads it, so a chunked
   body (no ``Content-Length``) or one longer than declared is cut off with 413 the moment it
   passes the limit, before anything parses it;
4. **read deadline**: the whole body must arrive within ``body_seconds`` of the request's start;
   a slow body (slowloris) gets 408 and the connection is closed.

The client address is the TCP peer, or what a trusted reverse proxy said (uvicorn rewrites
``scope["client"]`` only for the proxies in ``CIVICPULSE_TRUSTED_PROXIES``; see
:mod:`civicpulse.api.serving`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicpulse.api.ingest.ratelimit import RateLimiter

__all__ = ["BodyLimits", "EdgeMiddleware", "ip_limited"]


@dataclass(frozen=True)
class BodyLimits:
    """Largest body in bytes: the terminal batch, the widget press, anything else."""

    batch: int
    web: int
    other: int
    seconds: float

    def for_path(self, path: str) -> int:
        if path == "/v1/presses":
            return self.batch
        if path == "/v1/web/presses":
            return self.web
        return self.other


def ip_limited(path: str) -> bool:
    """Paths anyone on the internet may call without a key: the widget's press and question."""
    return path.startswith("/v1/web/") or (
        path.startswith("/v1/devices/") and path.endswith("/question")
    )


class _BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI's body reader passes it on (it turns any other error
    # while reading into a 400) and the app renders it as every other problem: {"detail": ...}.
    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit), {"Connection": "close"})


class _BodyTooSlow(HTTPException):
    def __init__(self, seconds: float) -> None:
        detail = f"the body did not arrive within {seconds:g} s"
        super().__init__(408, detail, {"Connection": "close"})


class EdgeMiddleware:
    """Limits that must hold before the application (routing, validation) sees the request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: BodyLimits,
        ip_limiter: Callable[[], RateLimiter],
        ip_key: Callable[[str], str],
    ) -> None:
        self.app = app
        self.limits = limits
        self.ip_limiter = ip_limiter
        self.ip_key = ip_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if ip_limited(path) and scope["method"] != "OPTIONS":
            client = scope.get("client")
            wait = self.ip_limiter().acquire(self.ip_key(client[0] if client else "unknown"))
            if wait > 0:
                await _answer(
                    send,
                    429,
                    "too many requests from this address; wait before trying again",
                    {"retry-after": str(math.ceil(wait))},
                )
                return
        limit = self.limits.for_path(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, 413, _too_large(limit), {"connection": "close"})
            return
        await self._with_counted_body(scope, receive, send, limit)

    async def _with_counted_body(
        self, scope: Scope, receive: Receive, send: Send, limit: int
    ) -> None:
        deadline = time.monotonic() + self.limits.seconds
        received = 0
        complete = False
        started = False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:
                # After the body: waiting for a disconnect (streaming responses) has no deadline.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                raise _BodyTooSlow(self.limits.seconds) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except (_BodyTooLarge, _BodyTooSlow) as exc:
            # Reached only when the body was read outside a route (the app answers it inside).
            if not started:
                await _answer(send, exc.status_code, exc.detail, exc.headers or {})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _too_large(limit: int) -> str:
    return f"body over {limit} bytes; send smaller batches"


async def _answer(send: Send, status: int, detail: str, headers: Mapping[str, str]) -> None:
    body = orjson.dumps({"detail": detail})
    raw: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": raw}
    await send(start)
    await send({"type": "http.response.body", "body": body})
