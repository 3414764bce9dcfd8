"""ClickHouse block compression frames: header, sizes, LZ4 body (checksums are proven by the
drivers, which verify them: tests/integration/sql_endpoint)."""

from __future__ import annotations

import os
import struct

import lz4.block

from civicpulse.api.sql_endpoint.compression import LZ4_METHOD, compress_frames


def _frames(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        method, size, raw_size = struct.unpack_from("<BII", data, at + 16)
        assert method == LZ4_METHOD
        body = data[at + 25 : at + 16 + size]
        out.append(lz4.block.decompress(body, uncompressed_size=raw_size))
        at += 16 + size
    assert at == len(data)
    return out


def test_frames_hold_the_payload_a_mebibyte_at_a_time() -> None:
    payload = os.urandom(1000) * 2500  # 2.5 MB
    frames = _frames(compress_frames(payload))
    assert [len(frame) for frame in frames] == [1 << 20, 1 << 20, len(payload) - (2 << 20)]
    assert b"".join(frames) == payload
    assert _frames(compress_frames(b"Ok.\n")) == [b"Ok.\n"]
    assert compress_frames(b"") == b""
