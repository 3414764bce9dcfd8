"""The SQL endpoint's ASGI app and the uvicorn server that runs it beside the API.

One request: read the body (at most ``_MAX_QUERY_BYTES``), parse it (:mod:`.protocol`), check
the token (the password; the user name is only logged), let the guard check the statement
(:mod:`.guard`), run it on a free read-only handle in a worker thread (:mod:`.engine`), and
answer chDB's bytes as they are, with the headers drivers read. ``/ping`` and a bare ``GET /``
answer ``Ok.`` as ClickHouse does (clients use them as health checks).
"""

from __future__ import annotations

import gzip
import logging
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import orjson

from civicpulse.api.query.tokens import ApiTokens
from civicpulse.api.sql_endpoint.compression import compress_frames
from civicpulse.api.sql_endpoint.engine import QueryResult, ReadOnlyPool
from civicpulse.api.sql_endpoint.errors import SqlEndpointError, http_status
from civicpulse.api.sql_endpoint.guard import check_query
from civicpulse.api.sql_endpoint.handshake import is_go_hello, native_hello
from civicpulse.api.sql_endpoint.protocol import (
    SqlRequest,
    content_type,
    decode_body,
    parse_request,
    pick_encoding,
)
from civicpulse.schemas.settings import Settings

__all__ = ["SqlEndpointApp", "SqlServer", "start_sql_server"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_MAX_QUERY_BYTES = 1_048_576
_DISPLAY_NAME = "civicpulse"


class SqlEndpointApp:
    """ASGI app speaking ClickHouse's HTTP interface over ``pool``, authenticated by ``tokens``."""

    def __init__(self, pool: ReadOnlyPool, tokens: ApiTokens) -> None:
        self.pool = pool
        self.tokens = tokens
        info = pool.run("SELECT version(), timezone()", "TabSeparated").data.decode().split("\t")
        self.version, self.timezone = info[0].strip(), info[1].strip()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        query_id = params.get("query_id", "")
        if not (query_id.isprintable() and query_id.isascii()) or not 0 < len(query_id) <= 256:
            query_id = str(uuid.uuid4())  # it is echoed in a header: nothing that could break it
        try:
            body = await _read_body(receive)
            if path == "/ping" or (path == "/" and method in ("GET", "HEAD") and not params):
                await _respond(send, 200, {"content-type": "text/plain; charset=UTF-8"}, b"Ok.\n")
                return
            if path != "/":
                raise SqlEndpointError(
                    60, "UNKNOWN_TABLE", f"There is no handle {path} (the endpoint serves / only)"
                )
            request = parse_request(
                params, headers, decode_body(body, headers.get("content-encoding", ""))
            )
            self._authenticate(request)
            status, response_headers, payload = await self._answer(request, query_id)
            if request.compress_blocks:
                payload = compress_frames(payload)
        except Exception as exc:  # every failure is answered as ClickHouse would answer it
            if not isinstance(exc, SqlEndpointError):
                log.exception("sql endpoint: query %s failed", query_id)
                exc = SqlEndpointError(1001, "STD_EXCEPTION", f"{type(exc).__name__}: {exc}")
            status = http_status(exc.code)
            payload = exc.body(self.version).encode()
            response_headers = {
                "content-type": "text/plain; charset=UTF-8",
                "x-clickhouse-exception-code": str(exc.code),
                "x-clickhouse-exception-name": exc.name,
            }
            if status == 401:
                response_headers["www-authenticate"] = 'Basic realm="ClickHouse server"'
        response_headers["x-clickhouse-query-id"] = query_id
        response_headers["x-clickhouse-server-display-name"] = _DISPLAY_NAME
        response_headers["x-clickhouse-timezone"] = self.timezone
        encoding = pick_encoding(headers.get("accept-encoding", ""))
        if encoding is not None and params.get("enable_http_compression") == "1":
            payload = _compress(payload, encoding)
            response_headers["content-encoding"] = encoding
        await _respond(send, status, response_headers, payload)

    def _authenticate(self, request: SqlRequest) -> None:
        credentials = request.credentials
        if (
            credentials is None
            or not credentials.password
            or not self.tokens.check(credentials.password)
        ):
            log.warning("sql endpoint: refused user %r (unknown or revoked token)",
                        credentials.user if credentials else None)  # fmt: skip
            raise SqlEndpointError(
                516,
                "AUTHENTICATION_FAILED",
                f"{credentials.user if credentials else 'default'}: Authentication failed: "
                "password is incorrect, or there is no user with such name",
            )

    async def _answer(
        self, request: SqlRequest, query_id: str
    ) -> tuple[int, dict[str, str], bytes]:
        checked = check_query(request.sql, self.pool.limits, self.pool.blocked)
        output_format = checked.format or request.default_format
        user = request.credentials.user if request.credentials else ""
        log.info("sql endpoint: user %r query %s", user, query_id)
        if is_go_hello(checked.sql) and output_format == "Native":
            hello = native_hello(
                _DISPLAY_NAME, self.version, self.timezone, request.client_revision
            )
            return (
                200,
                {"content-type": content_type("Native"), "x-clickhouse-format": "Native"},
                hello,
            )

        def run() -> QueryResult:
            return self.pool.run(
                checked.sql,
                output_format,
                database=request.database,
                parameters=request.parameters,
                client_settings=request.settings,
            )

        result = await anyio.to_thread.run_sync(run)
        summary = {
            "read_rows": str(result.rows_read),
            "read_bytes": str(result.bytes_read),
            "written_rows": "0",
            "written_bytes": "0",
            "total_rows_to_read": str(result.rows_read),
            "result_bytes": str(len(result.data)),
            "elapsed_ns": str(int(result.elapsed_s * 1e9)),
        }
        headers = {
            "content-type": content_type(output_format),
            "x-clickhouse-format": output_format,
            "x-clickhouse-summary": orjson.dumps(summary).decode(),
        }
        return 200, headers, result.data


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_QUERY_BYTES:
            raise SqlEndpointError(
                62, "SYNTAX_ERROR", f"Max query size exceeded: more than {_MAX_QUERY_BYTES} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _compress(payload: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(payload, compresslevel=3)
    return zlib.compress(payload, 3)


async def _respond(send: Send, status: int, headers: dict[str, str], payload: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class SqlServer:
    """The endpoint served by uvicorn in a thread of its own; :meth:`stop` ends it."""

    def __init__(self, app: SqlEndpointApp, host: str, port: int) -> None:
        import uvicorn

        self.app, self.host, self.port = app, host, port
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False,
            server_header=False, timeout_keep_alive=5, lifespan="off",
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def _bind(self) -> socket.socket:
        """Bind here, in the caller's thread, so a busy port is the caller's error at once."""
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError:
                sock.close()
                raise
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SqlEndpointError(
                210, "NETWORK_ERROR",
                f"the SQL endpoint could not listen on {self.host}:{self.port}: {reason} "
                "(set CIVICPULSE_SQL_PORT or --sql-port to a free port)",
            ) from exc  # fmt: skip
        return sock

    def start(self, timeout: float = 10.0) -> None:
        sock = self._bind()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sql-endpoint", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise SqlEndpointError(
                    210,
                    "NETWORK_ERROR",
                    f"the SQL endpoint did not start on {self.host}:{self.port}",
                )
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.app.pool.close()


def start_sql_server(
    settings: Settings, tokens: ApiTokens, *, port: int | None = None
) -> SqlServer | None:
    """Serve the endpoint when ClickHouse is embedded chDB (None with a ClickHouse server:
    clients then use the server). Call after ``civicpulse db migrate`` made the database."""
    from civicpulse.sink.clickhouse import parse_dsn, validate_database_name

    target = parse_dsn(settings.clickhouse_url)
    if target.kind != "chdb" or target.path is None:
        return None
    database = validate_database_name(settings.clickhouse_database)
    pool = ReadOnlyPool(target.path, database, settings)
    server = SqlServer(SqlEndpointApp(pool, tokens), settings.sql_host, port or settings.sql_port)
    try:
        server.start()
    except SqlEndpointError:
        pool.close()
        raise
    return server
