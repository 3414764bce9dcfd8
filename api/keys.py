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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from civicpulse.schemas.events import format_utc

from .exceptions import KeyStoreError

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
    """The device-key store: ``{device_id: [KeyHash, ...]}`` in one JSON file (0600)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._keys: dict[str, list[KeyHash]] = {}
        self._verified: dict[str, bytes] = {}
        self._secret = os.urandom(32)
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> DeviceKeys:
        return cls(data_dir / "device-keys.json")

    def _load(self, path: Path) -> None:
        try:
            raw = orjson.loads(path.read_bytes())
            self._keys = {
                device: [KeyHash(**entry) for entry in entries] for device, entries in raw.items()
            }
        except (orjson.JSONDecodeError, TypeError, AttributeError) as exc:
            raise KeyStoreError(
                f"device-key store {path} is unreadable ({exc}); restore it from backup or "
                "re-issue keys with `civicpulse devices add-key`"
            ) from exc

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {d: [entry.__dict__ for entry in entries] for d, entries in self._keys.items()}
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def add(self, device_id: str, *, replace: bool = False) -> str:
        """Issue a new key for ``device_id``; returns it (the only time it exists in clear)."""
        key = new_key()
        with self._lock:
            entries = [] if replace else list(self._keys.get(device_id, []))
            self._keys[device_id] = [*entries, hash_key(key)]
            self._verified.pop(device_id, None)
            self._save()
        return key

    def set_key(self, device_id: str, key: str) -> None:
        """Register a key chosen elsewhere (provisioning, tests); only its hash is kept."""
        with self._lock:
            self._keys.setdefault(device_id, []).append(hash_key(key))
            self._save()

    def revoke(self, device_id: str) -> bool:
        with self._lock:
            self._verified.pop(device_id, None)
            found = self._keys.pop(device_id, None) is not None
            self._save()
            return found

    def devices(self) -> list[str]:
        return sorted(self._keys)

    def check(self, device_id: str, key: str) -> bool:
        """True when ``key`` is a current key of ``device_id``."""
        tag = hmac.new(self._secret, f"{device_id}\0{key}".encode(), hashlib.sha256).digest()
        remembered = self._verified.get(device_id)
        if remembered is not None and hmac.compare_digest(remembered, tag):
            return True
        entries = self._keys.get(device_id)
        if not entries:
            # Spend the same work as a real check so timing does not reveal which devices exist.
            verify_key(key, _dummy())
            return False
        if any(verify_key(key, entry) for entry in entries):
            self._verified[device_id] = tag
            return True
        return False


@functools.cache
def _dummy() -> KeyHash:
    return hash_key("dummy-key-never-valid", salt=b"\0" * 16)
