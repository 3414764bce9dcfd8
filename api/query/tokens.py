"""Query-API tokens, stored only as SHA-256 hashes in ``<data_dir>/api-tokens.json`` (0600).

A token is 32 random bytes (URL-safe base64), printed once by ``civicpulse tokens add NAME``.
Unlike device keys (scrypt, :mod:`civicpulse.api.ingest.keys`), a plain SHA-256 is right here:
the token is 256-bit random, so there is nothing to brute-force, and a query API checks a token on
every request. Verification hashes the presented token and compares it with every stored hash in
constant time, so neither the timing nor the order of the file tells which token matched.

The API re-reads the file when its modification time (or size) changes, at most once a second:
a token added or revoked with the CLI takes effect in a running API within seconds, without a
restart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from civicpulse.api.exceptions import KeyStoreError
from civicpulse.schemas.events import format_utc
from civicpulse.schemas.files import write_private

__all__ = ["CONFIGURED_TOKEN_NAME", "ApiTokens", "TokenEntry", "hash_token", "new_token"]

_RECHECK_SECONDS = 1.0
#: The name an action is recorded under when it came with ``CIVICPULSE_API_TOKEN``.
CONFIGURED_TOKEN_NAME = "CIVICPULSE_API_TOKEN"


@dataclass(frozen=True)
class TokenEntry:
    name: str
    sha256: str
    created_at: str


def new_token() -> str:
    """A fresh random API token (256 bits, URL-safe, no padding)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class ApiTokens:
    """The token store ``{name: TokenEntry}``; ``extra`` tokens (from settings) count too."""

    def __init__(self, path: Path | None, extra: tuple[str, ...] = ()) -> None:
        self.path = path
        self._extra = [hash_token(token) for token in extra if token]
        self._entries: dict[str, TokenEntry] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked = -1e9
        self._lock = threading.Lock()
        self._reload()

    @classmethod
    def in_data_dir(cls, data_dir: Path, extra: tuple[str, ...] = ()) -> ApiTokens:
        return cls(data_dir / "api-tokens.json", extra)

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _reload(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        entries: dict[str, TokenEntry] = {}
        if stamp is not None and self.path is not None:
            try:
                raw = orjson.loads(self.path.read_bytes())
                entries = {name: TokenEntry(**entry) for name, entry in raw.items()}
            except (orjson.JSONDecodeError, TypeError, AttributeError) as exc:
                raise KeyStoreError(
                    f"API token store {self.path} is unreadable ({exc}); restore it from backup "
                    "or issue new tokens with `civicpulse tokens add`"
                ) from exc
        self._entries, self._stamp = entries, stamp

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked >= _RECHECK_SECONDS:
            with self._lock:
                self._checked = now
                self._reload()

    def _save(self) -> None:
        if self.path is None:
            return
        data = {name: asdict(entry) for name, entry in self._entries.items()}
        write_private(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2))
        self._stamp = self._file_stamp()

    def add(self, name: str) -> str:
        """Issue a token named ``name`` (replacing one of that name); returns it, once."""
        token = new_token()
        with self._lock:
            self._reload()
            self._entries[name] = TokenEntry(
                name=name,
                sha256=hash_token(token).hex(),
                created_at=format_utc(datetime.now(UTC)),
            )
            self._save()
        return token

    def revoke(self, name: str) -> bool:
        with self._lock:
            self._reload()
            found = self._entries.pop(name, None) is not None
            if found:
                self._save()
            return found

    def entries(self) -> list[TokenEntry]:
        with self._lock:
            self._reload()
            return sorted(self._entries.values(), key=lambda e: e.name)

    def name_of(self, token: str) -> str | None:
        """The name of a stored token, ``CONFIGURED_TOKEN_NAME`` for the configured one, or None
        when ``token`` is unknown (constant time over the known tokens, like :meth:`check`)."""
        self._refresh()
        digest = hash_token(token)
        found: str | None = None
        for entry in list(self._entries.values()):
            if hmac.compare_digest(digest, bytes.fromhex(entry.sha256)):
                found = entry.name
        for candidate in self._extra:
            if hmac.compare_digest(digest, candidate) and found is None:
                found = CONFIGURED_TOKEN_NAME
        return found

    def check(self, token: str) -> bool:
        """True when ``token`` is a stored token or the configured one (constant time)."""
        self._refresh()
        digest = hash_token(token)
        known = [bytes.fromhex(e.sha256) for e in self._entries.values()] + self._extra
        matched = False
        for candidate in known:
            matched |= hmac.compare_digest(digest, candidate)
        return matched
