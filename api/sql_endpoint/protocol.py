"""ClickHouse's HTTP interface, the request side and the response headers (pure functions).

What clients send (read from ClickHouse's docs/en/interfaces/http.md and the drivers' sources:
clickhouse-go ``conn_http.go``, clickhouse-connect ``httpclient.py``, clickhouse-jdbc): the query
in the ``query`` URL parameter, the body, or both (then the parameter comes first, a newline,
the body); ``database``, ``default_format``, ``query_id``, ``param_<name>`` query parameters and
any other URL parameter as a setting; credentials as HTTP basic, ``X-ClickHouse-User`` /
``X-ClickHouse-Key`` headers or ``user`` / ``password`` parameters; a request body compressed
with ``Content-Encoding``; ``enable_http_compression=1`` with ``Accept-Encoding`` to get a
compressed answer.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from civicpulse.api.sql_endpoint.errors import SqlEndpointError

__all__ = [
    "TRANSPORT_PARAMETERS",
    "Credentials",
    "SqlRequest",
    "content_type",
    "decode_body",
    "parse_request",
    "pick_encoding",
]

#: URL parameters the HTTP layer consumes itself (never settings for the engine)
TRANSPORT_PARAMETERS = frozenset(
    {
        "query", "database", "default_format", "query_id", "user", "password", "quota_key",
        "session_id", "session_timeout", "session_check", "compress", "decompress",
        "enable_http_compression", "http_zlib_compression_level", "buffer_size",
        "wait_end_of_query", "client_protocol_version", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "cancel_http_readonly_queries_on_client_close",
        "role", "add_http_cors_header", "http_response_buffer_size",
        "network_compression_method", "network_zstd_compression_level",
    }
)  # fmt: skip

_CONTENT_TYPES = {
    "json": "application/json; charset=UTF-8",
    "xml": "application/xml; charset=UTF-8",
    "csv": "text/csv; charset=UTF-8; header=absent",
    "tabseparated": "text/tab-separated-values; charset=UTF-8",
    "tsv": "text/tab-separated-values; charset=UTF-8",
    "pretty": "text/plain; charset=UTF-8",
    "values": "text/plain; charset=UTF-8",
    "vertical": "text/plain; charset=UTF-8",
    "markdown": "text/markdown; charset=UTF-8",
}


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


@dataclass(frozen=True)
class SqlRequest:
    """One query as the client sent it, before any check."""

    sql: str
    credentials: Credentials | None
    database: str | None = None
    default_format: str = "TabSeparated"
    query_id: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    #: the client asked for ClickHouse's block compression of the answer (compress=1)
    compress_blocks: bool = False
    #: the Native revision the client decodes (``client_protocol_version``; 0 = plain Native)
    client_revision: int = 0


def _credentials(params: Mapping[str, str], headers: Mapping[str, str]) -> Credentials | None:
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return Credentials(user, password)
    if "x-clickhouse-user" in headers or "x-clickhouse-key" in headers:
        return Credentials(
            headers.get("x-clickhouse-user", ""), headers.get("x-clickhouse-key", "")
        )
    if "user" in params or "password" in params:
        return Credentials(params.get("user", ""), params.get("password", ""))
    return None


def decode_body(body: bytes, content_encoding: str) -> bytes:
    """The request body without its ``Content-Encoding`` (gzip, deflate, identity)."""
    encoding = content_encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return body
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError) as exc:
        raise SqlEndpointError(
            354, "CANNOT_DECOMPRESS", f"Cannot decompress the request body: {exc}"
        ) from exc
    raise SqlEndpointError(
        48, "NOT_IMPLEMENTED", f"Unknown Content-Encoding of the request body: {encoding}"
    )


def parse_request(params: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> SqlRequest:
    """Read one request (``headers`` with lower-case names, ``body`` already decoded)."""
    if params.get("decompress") == "1":
        raise SqlEndpointError(
            48,
            "NOT_IMPLEMENTED",
            "decompress=1 (ClickHouse-compressed request bodies) is not "
            "supported by this endpoint; send the body plain or with Content-Encoding: gzip",
        )
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise SqlEndpointError(
            27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "The query is not UTF-8"
        ) from exc
    sql = "\n".join(part for part in (params.get("query", ""), text) if part)
    return SqlRequest(
        sql=sql,
        credentials=_credentials(params, headers),
        database=params.get("database") or headers.get("x-clickhouse-database") or None,
        default_format=params.get("default_format")
        or headers.get("x-clickhouse-format")
        or "TabSeparated",
        query_id=params.get("query_id") or None,
        parameters={k[6:]: v for k, v in params.items() if k.startswith("param_")},
        settings={
            k: v
            for k, v in params.items()
            if k not in TRANSPORT_PARAMETERS and not k.startswith("param_")
        },
        compress_blocks=params.get("compress") == "1",
        client_revision=int(revision)
        if (revision := params.get("client_protocol_version", "0")).isdigit()
        else 0,
    )


def pick_encoding(accept_encoding: str) -> str | None:
    """The response encoding for ``Accept-Encoding`` (gzip or deflate), None for plain."""
    offered = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    for encoding in ("gzip", "deflate"):
        if encoding in offered:
            return encoding
    return None


def content_type(output_format: str) -> str:
    """``Content-Type`` of an answer in ``output_format`` (ClickHouse's choices)."""
    name = output_format.lower()
    if name.startswith("csvwithnames"):
        return "text/csv; charset=UTF-8; header=present"
    for prefix, value in _CONTENT_TYPES.items():
        if name.startswith(prefix):
            return value
    return "application/octet-stream"
