"""ClickHouse's own block compression of HTTP answers (``compress=1``), as drivers decode it.

The ClickHouse JDBC driver (DBeaver, Metabase) asks for it by default, clickhouse-go when its
compression is LZ4 or ZSTD. The answer is a run of frames: a 16-byte CityHash128 (v1.0.2)
of the rest of the frame, the method byte (``0x82`` LZ4), the frame's
compressed size including this 9-byte header and the uncompressed size (UInt32 little endian
both), then the LZ4 block. Frames hold at most 1 MiB uncompressed, as ClickHouse's do. Read in
ClickHouse ``CompressedWriteBuffer``; both clickhouse-go (ch-go's ``compress.Reader``) and the
JDBC driver verify the checksum, and the tests run both against it.
"""

from __future__ import annotations

import struct

import lz4.block
from clickhouse_cityhash.cityhash import CityHash128

__all__ = ["LZ4_METHOD", "compress_frames"]

LZ4_METHOD = 0x82
_FRAME_BYTES = 1 << 20
_LOW64 = (1 << 64) - 1


def compress_frames(payload: bytes) -> bytes:
    """``payload`` as ClickHouse-compressed LZ4 frames (empty payload: no frame)."""
    out = bytearray()
    for start in range(0, len(payload), _FRAME_BYTES):
        chunk = payload[start : start + _FRAME_BYTES]
        packed = lz4.block.compress(chunk, store_size=False)
        frame = struct.pack("<BII", LZ4_METHOD, len(packed) + 9, len(chunk)) + packed
        checksum = CityHash128(frame)
        # clickhouse-cityhash returns the hash's first 64-bit word in the high half of its int
        out += struct.pack("<QQ", checksum >> 64, checksum & _LOW64) + frame
    return bytes(out)
