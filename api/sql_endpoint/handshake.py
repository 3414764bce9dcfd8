"""The server hello of clickhouse-go (Grafana's driver), answered at the revision it decodes.

Over HTTP clickhouse-go sends ``client_protocol_version=<its TCP revision>`` with every request
and asks ``SELECT displayName(), version(), revision(), timezone()`` on connect, decoding that
answer as Native *of its own revision* (block info, a custom-serialization byte per column) and
every later answer at the ``revision()`` the server reported. chDB writes Native at revision 0
and has no setting to write another, so the endpoint answers this one query itself, framed at
the client's revision, and reports revision 0: the revision of the Native it then serves (read
in clickhouse-go ``conn_http.go`` ``queryHello`` and ``lib/proto/block.go`` ``Decode``).
"""

from __future__ import annotations

import re
import struct

__all__ = ["NATIVE_REVISION", "is_go_hello", "native_hello"]

#: the Native revision chDB writes (and the endpoint reports)
NATIVE_REVISION = 0
_CUSTOM_SERIALIZATION_REVISION = 54454
_HELLO = re.compile(
    r"^\s*SELECT\s+displayName\(\)\s*,\s*version\(\)\s*,\s*revision\(\)\s*,\s*timezone\(\)\s*$",
    re.IGNORECASE,
)


def is_go_hello(sql: str) -> bool:
    """Whether ``sql`` is clickhouse-go's server-hello query."""
    return _HELLO.match(sql) is not None


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _varint(len(raw)) + raw


def native_hello(display_name: str, version: str, timezone: str, client_revision: int) -> bytes:
    """The hello's one-row Native block, framed as a server of ``client_revision`` frames it."""
    out = bytearray()
    if client_revision > 0:  # block info: field 1 is_overflows, field 2 bucket_num, end
        out += _varint(1) + b"\x00" + _varint(2) + struct.pack("<i", -1) + _varint(0)
    out += _varint(4) + _varint(1)
    columns = [
        ("displayName()", "String", _string(display_name)),
        ("version()", "String", _string(version)),
        ("revision()", "UInt32", struct.pack("<I", NATIVE_REVISION)),
        ("timezone()", "String", _string(timezone)),
    ]
    for name, type_name, data in columns:
        out += _string(name) + _string(type_name)
        if client_revision >= _CUSTOM_SERIALIZATION_REVISION:
            out += b"\x00"  # no custom serialization
        out += data
    return bytes(out)
