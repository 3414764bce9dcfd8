"""Per-device API keys, stored only as salted scrypt hashes.

A key is 32 random bytes (URL-safe base64), shown once by ``civicpulse devices add-key`` and never
stored. The store keeps ``scrypt(key, per-key salt)`` per device in a JSON file under the data
dir; verification recomputes and compares in constant time. scrypt costs tens of milliseconds
on purpose, so a verified key is remembered in memory as an HMAC under a per-process secret: the
next request of the same terminal costs one HMAC, and a memory dump still holds no key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from civicpulse.api.exceptions import KeyStoreError
from civicpulse.schemas.events import format_utc
from civicpulse.schemas.files import write_private

__all__ = ["DeviceKeys", "KeyHash", "hash_key", "new_key", "verify_key"]

# scrypt with N=2**14, r=8, p=1 (16 MiB, ~50 ms): the interactive-login parameters. Keys are
# 256-bit random so the cost is defence in depth, not what keeps them secret.
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32


@dataclass(frozen=True)
class KeyHash:
    salt: str
    hash: str
    created_at: str
    n: int = _N
    r: int = _R
    p: int = _P


def new_key() -> str:
    """A fresh random device key (256 bits, URL-safe, no padding)."""
    return secrets.token_urlsafe(32)


def _scrypt(key: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(key.encode(), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=64 * 2**20)


def hash_key(key: str, *, salt: bytes | None = None) -> KeyHash:
    salt = salt if salt is not None else os.urandom(16)
    digest = _scrypt(key, salt, _N, _R, _P)
    return KeyHash(
        salt=base64.b64encode(salt).decode(),
        hash=base64.b64encode(digest).decode(),
        created_at=format_utc(datetime.now(UTC)),
    )


def verify_key(key: str, stored: KeyHash) -> bool:
    digest = _scrypt(key, base64.b64decode(stored.salt), stored.n, stored.r, stored.p)
    return hmac.compare_digest(digest, base64.b64decode(stored.hash))


class DeviceKeys:
    """The device-key store: ``{device_id: [KeyHash, ...]}`` in one JSON file (0600).

    Every process that serves requests re-reads the file when its modification time or size
    changes (looked at most every ``recheck_seconds``), and the CLI replaces the file atomically;
    so a key added, replaced or revoked with ``civicpulse devices ...`` takes effect in every
    running API within seconds, without a restart. A revoked key also leaves the in-memory
    cache of verified keys at that re-read.
    """

    def __init__(self, path: Path | None = None, *, recheck_seconds: float = 1.0) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self._keys: dict[str, list[KeyHash]] = {}
        self._verified: dict[str, bytes] = {}
        self._secret = os.urandom(32)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._checked = -1e9
        with self._lock:
            self._reload()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> DeviceKeys:
        return cls(data_dir / "device-keys.json")

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        # The inode changes with every atomic replace, even within one mtime tick.
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _reload(self) -> None:
        """Read the file if it changed since the last read (call with the lock held)."""
        if self.path is None:
            return  # an in-memory store (tests, embedders): nothing to re-read
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        keys: dict[str, list[KeyHash]] = {}
        if stamp is not None:
            try:
                raw = orjson.loads(self.path.read_bytes())
                keys = {
                    device: [KeyHash(**entry) for entry in entries]
                    for device, entries in raw.items()
                }
            except (orjson.JSONDecodeError, TypeError, AttributeError) as exc:
                raise KeyStoreError(
                    f"device-key store {self.path} is unreadable ({exc}); restore it from "
                    "backup or re-issue keys with `civicpulse devices add-key`"
                ) from exc
            except FileNotFoundError:
                stamp = None
        self._forget_changed(keys)
        self._keys, self._stamp = keys, stamp

    def _forget_changed(self, keys: dict[str, list[KeyHash]]) -> None:
        for device in list(self._verified):
            if keys.get(device) != self._keys.get(device):
                del self._verified[device]

    def refresh(self) -> None:
        """Pick up changes another process made, at most every ``recheck_seconds``."""
        now = time.monotonic()
        if now - self._checked >= self.recheck_seconds:
            with self._lock:
                self._checked = now
                self._reload()

    def _save(self) -> None:
        if self.path is None:
            return
        data = {d: [entry.__dict__ for entry in entries] for d, entries in self._keys.items()}
        write_private(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2))
        self._stamp = self._file_stamp()

    def add(self, device_id: str, *, replace: bool = False) -> str:
        """Issue a new key for ``device_id``; returns it (the only time it exists in clear)."""
        key = new_key()
        with self._lock:
            self._reload()
            entries = [] if replace else list(self._keys.get(device_id, []))
            self._keys[device_id] = [*entries, hash_key(key)]
            self._verified.pop(device_id, None)
            self._save()
        return key

    def set_key(self, device_id: str, key: str) -> None:
        """Register a key chosen elsewhere (provisioning, tests); only its hash is kept."""
        with self._lock:
            self._reload()
            self._keys[device_id] = [*self._keys.get(device_id, []), hash_key(key)]
            self._save()

    def revoke(self, device_id: str) -> bool:
        with self._lock:
            self._reload()
            self._verified.pop(device_id, None)
            found = self._keys.pop(device_id, None) is not None
            if found:
                self._save()
            return found

    def devices(self) -> list[str]:
        with self._lock:
            self._reload()
            return sorted(self._keys)

    def _tag(self, device_id: str, key: str) -> bytes:
        return hmac.new(self._secret, f"{device_id}\0{key}".encode(), hashlib.sha256).digest()

    def check_cached(self, device_id: str, key: str) -> bool:
        """True when this exact key of this device was verified before and is still current.

        One HMAC, no scrypt: callers try this first, so a terminal that already proved its key
        is not held up by limits meant for guessers.
        """
        self.refresh()
        remembered = self._verified.get(device_id)
        return remembered is not None and hmac.compare_digest(remembered, self._tag(device_id, key))

    def check(self, device_id: str, key: str) -> bool:
        """True when ``key`` is a current key of ``device_id``."""
        if self.check_cached(device_id, key):
            return True
        entries = self._keys.get(device_id)
        if not entries:
            # Spend the same work as a real check so timing does not reveal which devices exist.
            verify_key(key, _dummy())
            return False
        if any(verify_key(key, entry) for entry in entries):
            self._verified[device_id] = self._tag(device_id, key)
            return True
        return False


@functools.cache
def _dummy() -> KeyHash:
    return hash_key("dummy-key-never-valid", salt=b"\0" * 16)
