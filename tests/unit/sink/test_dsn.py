"""DSN parsing of the one ClickHouse client factory (pure: nothing is opened)."""

from __future__ import annotations

import pytest

from civicpulse.sink.clickhouse import parse_dsn, validate_database_name
from civicpulse.sink.exceptions import ClickHouseDsnError, SinkError


def test_chdb_dsn_gives_the_normalised_absolute_path(tmp_path: object) -> None:
    target = parse_dsn("chdb:///var/lib/civicpulse/../civicpulse/chdb/")
    assert target.kind == "chdb"
    assert target.path == "/var/lib/civicpulse/chdb"
    assert target.url is None


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("chdb://relative/path", "three slashes"),
        ("chdb://", "absolute path"),
        ("chdb:///", "absolute path"),
        ("chdb:///data?x=1", "take no options"),
        ("http:///nohost", "has no host"),
        ("http://h:notaport", "port is not a number"),
        ("http://u:p@h:8123/analytics", "CIVICPULSE_CLICKHOUSE_DATABASE"),
        ("clickhouse://h:9000", "unsupported scheme 'clickhouse'"),
        ("/just/a/path", "unsupported scheme ''"),
    ],
)
def test_bad_dsns_are_refused_with_what_to_write(dsn: str, message: str) -> None:
    with pytest.raises(ClickHouseDsnError, match=message):
        parse_dsn(dsn)


def test_http_dsn_keeps_credentials_for_the_driver_but_hides_them_in_display() -> None:
    target = parse_dsn("https://reader:s3cret@ch.example.org:8443/?compress=lz4")
    assert target.kind == "http"
    assert target.url == "https://reader:s3cret@ch.example.org:8443?compress=lz4"
    assert "s3cret" not in target.display
    assert target.display == "https://reader:***@ch.example.org:8443"


def test_http_dsn_without_port_or_user() -> None:
    target = parse_dsn("http://localhost")
    assert target.url == "http://localhost"
    assert target.display == "http://localhost"


@pytest.mark.parametrize("name", ["civicpulse", "t_0123abcd", "_x", "A1"])
def test_plain_database_names_pass(name: str) -> None:
    assert validate_database_name(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a.b", "x`; DROP", "a" * 65])
def test_other_database_names_are_refused(name: str) -> None:
    with pytest.raises(SinkError, match="plain identifier"):
        validate_database_name(name)
