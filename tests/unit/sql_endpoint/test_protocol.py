"""Reading ClickHouse HTTP requests, and the error texts and statuses the endpoint answers."""

from __future__ import annotations

import base64
import gzip

import pytest

from civicpulse.api.sql_endpoint.errors import SqlEndpointError, engine_error, http_status
from civicpulse.api.sql_endpoint.protocol import (
    Credentials,
    content_type,
    decode_body,
    parse_request,
    pick_encoding,
)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_query_parameter_then_body_and_the_transport_parameters() -> None:
    request = parse_request(
        {
            "query": "SELECT {x:UInt8}",
            "database": "civicpulse",
            "default_format": "Native",
            "query_id": "q1",
            "param_x": "7",
            "client_protocol_version": "54460",
            "max_threads": "1",
        },
        {"authorization": _basic("grafana", "tok:en")},
        b"FORMAT JSON",
    )
    assert request.sql == "SELECT {x:UInt8}\nFORMAT JSON"
    assert request.credentials == Credentials("grafana", "tok:en")
    assert (request.database, request.default_format, request.query_id) == (
        "civicpulse",
        "Native",
        "q1",
    )
    assert request.parameters == {"x": "7"}
    assert request.settings == {"max_threads": "1"}


def test_credentials_from_headers_or_parameters_and_none() -> None:
    by_header = parse_request({}, {"x-clickhouse-user": "u", "x-clickhouse-key": "k"}, b"SELECT 1")
    by_param = parse_request({"user": "u", "password": "k"}, {}, b"SELECT 1")
    assert by_header.credentials == by_param.credentials == Credentials("u", "k")
    assert parse_request({}, {}, b"SELECT 1").credentials is None
    assert parse_request({}, {}, b"SELECT 1").default_format == "TabSeparated"


def test_bodies_compressed_by_the_client() -> None:
    assert decode_body(gzip.compress(b"SELECT 1"), "gzip") == b"SELECT 1"
    with pytest.raises(SqlEndpointError) as caught:
        decode_body(b"not gzip", "gzip")
    assert caught.value.code == 354
    with pytest.raises(SqlEndpointError):
        parse_request({"decompress": "1"}, {}, b"")


def test_encoding_and_content_type_choices() -> None:
    assert pick_encoding("lz4, zstd, br, gzip") == "gzip"
    assert pick_encoding("deflate;q=0.5") == "deflate"
    assert pick_encoding("br") is None
    assert content_type("JSONEachRow").startswith("application/json")
    assert content_type("TabSeparatedWithNamesAndTypes").startswith("text/tab-separated")
    assert content_type("CSVWithNames").endswith("header=present")
    assert content_type("Native") == content_type("Parquet") == "application/octet-stream"


def test_engine_errors_keep_code_name_and_text() -> None:
    error = engine_error(
        "Code: 60. DB::Exception: Unknown table expression identifier 'nope'. (UNKNOWN_TABLE)"
    )
    assert (error.code, error.name) == (60, "UNKNOWN_TABLE")
    assert error.body("26.9").startswith("Code: 60. DB::Exception: Unknown table")
    assert error.body("26.9").endswith("(UNKNOWN_TABLE) (version 26.9)\n")
    own = SqlEndpointError(516, "AUTHENTICATION_FAILED", "u: Authentication failed")
    assert own.body("1.2") == (
        "Code: 516. DB::Exception: u: Authentication failed. (AUTHENTICATION_FAILED) "
        "(version 1.2)\n"
    )
    assert [http_status(code) for code in (516, 164, 62, 60, 202, 159)] == [
        401, 403, 400, 404, 503, 500,
    ]  # fmt: skip
