"""Bundles: many presses in one message of the scoring topic.

The scores agent reads one partition on one worker, and Faust's consumption path costs more per
message than the scoring itself (a profile: about 50 µs a press of the stage's own code against
several hundred of Faust's; ``docs/scaling.md``). So the scoring hop packs the presses of each
batch (one presses.accepted partition, in offset order) into bundles, and the scores agent pays
Faust's per-message cost once per bundle instead of once per press. The hop still reads every
press, but it spreads over every worker with presses.accepted's partitions.

Format: ``MAGIC``, then for each press its scoring key and its value, each as a 4-byte
big-endian length and the bytes. A message that does not start with ``MAGIC`` is one press: a
press is JSON, which never starts with a NUL byte, so a scoring topic written before bundles
(or by hand, in a test) still reads.

A bundle is cut at ``MAX_BUNDLE_BYTES``: well under Kafka's default 1 MiB message limit, and
small enough that a batch of a few hundred presses is still one bundle.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

__all__ = ["MAGIC", "MAX_BUNDLE_BYTES", "BundleError", "pack", "unpack"]

MAGIC = b"\x00cpb1"
MAX_BUNDLE_BYTES = 256 * 1024

_LENGTH = struct.Struct(">I")


class BundleError(ValueError):
    """A message that starts like a bundle but does not parse as one."""


def pack(
    presses: Iterable[tuple[bytes, bytes]], max_bytes: int = MAX_BUNDLE_BYTES
) -> Iterator[bytes]:
    """The bundles of ``(scoring key, press)`` pairs, in order, each at most ``max_bytes``
    (a press larger than that alone is one bundle of its own)."""
    parts: list[bytes] = [MAGIC]
    size = len(MAGIC)
    for key, value in presses:
        entry = (_LENGTH.pack(len(key)), key, _LENGTH.pack(len(value)), value)
        grown = 2 * _LENGTH.size + len(key) + len(value)
        if len(parts) > 1 and size + grown > max_bytes:
            yield b"".join(parts)
            parts, size = [MAGIC], len(MAGIC)
        parts.extend(entry)
        size += grown
    if len(parts) > 1:
        yield b"".join(parts)


def unpack(key: bytes | None, value: bytes) -> list[tuple[bytes | None, bytes]]:
    """The ``(scoring key, press)`` pairs of one scoring message, in order (see module doc)."""
    if not value.startswith(MAGIC):
        return [(key, value)]
    found: list[tuple[bytes | None, bytes]] = []
    at, end = len(MAGIC), len(value)
    while at < end:
        press_key, at = _field(value, at, "key")
        press, at = _field(value, at, "press")
        found.append((press_key, press))
    return found


def _field(value: bytes, at: int, what: str) -> tuple[bytes, int]:
    if at + _LENGTH.size > len(value):
        raise BundleError(f"bundle cut short at byte {at}: no length of a {what}")
    (length,) = _LENGTH.unpack_from(value, at)
    at += _LENGTH.size
    if at + length > len(value):
        raise BundleError(f"bundle cut short at byte {at}: a {what} of {length} bytes")
    return value[at : at + length], at + length
