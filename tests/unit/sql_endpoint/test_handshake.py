"""clickhouse-go's server hello, framed at the revision the driver decodes it with."""

from __future__ import annotations

import struct

from civicpulse.api.sql_endpoint.handshake import NATIVE_REVISION, is_go_hello, native_hello


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _read_string(data: bytes, at: int) -> tuple[str, int]:
    size, at = _read_varint(data, at)
    return data[at : at + size].decode(), at + size


def _decode(data: bytes, revision: int) -> dict[str, object]:
    """A reader written from clickhouse-go's Block.Decode: block info when revision > 0, a
    custom-serialization byte per column from revision 54454."""
    at = 0
    if revision > 0:
        assert data[at : at + 8] == b"\x01\x00\x02" + struct.pack("<i", -1) + b"\x00"
        at += 8
    columns, at = _read_varint(data, at)
    rows, at = _read_varint(data, at)
    assert rows == 1
    values: dict[str, object] = {}
    for _ in range(columns):
        name, at = _read_string(data, at)
        type_name, at = _read_string(data, at)
        if revision >= 54454:
            assert data[at] == 0
            at += 1
        if type_name == "UInt32":
            values[name] = struct.unpack_from("<I", data, at)[0]
            at += 4
        else:
            values[name], at = _read_string(data, at)
    assert at == len(data)
    return values


def test_hello_decodes_at_the_clients_revision_and_reports_revision_0() -> None:
    for revision in (0, 54405, 54460, 54479):
        values = _decode(native_hello("civicpulse", "26.9.2.1", "Etc/UTC", revision), revision)
        assert values == {
            "displayName()": "civicpulse",
            "version()": "26.9.2.1",
            "revision()": NATIVE_REVISION,
            "timezone()": "Etc/UTC",
        }


def test_only_the_hello_query_is_recognised() -> None:
    assert is_go_hello("SELECT displayName(), version(), revision(), timezone()")
    assert is_go_hello("select displayName() ,version(),revision(), timezone()  ")
    assert not is_go_hello("SELECT displayName(), version(), revision(), timezone(), 1")
    assert not is_go_hello("SELECT version()")
