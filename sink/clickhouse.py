"""The one ClickHouse client factory: embedded chDB by default, an HTTP server when configured.

Every stage opens ClickHouse through :func:`create_client`; it alone decides chDB vs HTTP, so the
same DDL and SQL run on both. chDB imposes two rules this module enforces with clear errors:

* one process per path: a second process fails to lock ``<path>/status``
  (:class:`EngineLockedError` names the holder's PID);
* one path per process: the factory keeps one engine per process and refuses a different path
  (:class:`EnginePathConflictError`). Clients are cached per database on that engine, so the sink
  and the API of ``civicpulse up`` share them.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from civicpulse.schemas.files import private_dir
from civicpulse.sink.exceptions import (
    ClickHouseDsnError,
    EngineLockedError,
    EnginePathConflictError,
    SinkError,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from civicpulse.schemas.settings import Settings

__all__ = [
    "ClickHouseTarget",
    "close_clients",
    "create_client",
    "lock_holder",
    "parse_dsn",
    "quote_identifier",
    "validate_database_name",
]

_DATABASE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_UNKNOWN_DATABASE = 81
_DSN_FORMS = "chdb:///absolute/path (embedded) or http(s)://user:password@host:port (server)"


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where a DSN points: ``path`` for chDB, ``url`` for a server; ``display`` hides secrets."""

    kind: Literal["chdb", "http"]
    display: str
    path: str | None = None
    url: str | None = None


def parse_dsn(dsn: str) -> ClickHouseTarget:
    """Validate ``dsn`` and say where it points. Pure: opens nothing.

    The database never comes from the DSN (``CIVICPULSE_CLICKHOUSE_DATABASE`` is the one knob),
    so a path on an HTTP DSN is refused rather than silently ignored.
    """
    parts = urlsplit(dsn.strip())
    scheme = parts.scheme.lower()
    if scheme == "chdb":
        if parts.netloc:
            raise ClickHouseDsnError(
                f"ClickHouse DSN {dsn!r}: a chDB DSN names an absolute path after three slashes, "
                f"e.g. chdb:///var/lib/civicpulse/chdb (got host part {parts.netloc!r})."
            )
        if not parts.path.startswith("/") or parts.path == "/":
            raise ClickHouseDsnError(
                f"ClickHouse DSN {dsn!r}: give the chDB data folder as an absolute path, "
                "e.g. chdb:///var/lib/civicpulse/chdb."
            )
        if parts.query or parts.fragment:
            raise ClickHouseDsnError(
                f"ClickHouse DSN {dsn!r}: chDB DSNs take no options; drop the text after '?'/'#'."
            )
        # chDB compares engine paths literally, so spellings of one folder must agree.
        path = os.path.realpath(parts.path)
        return ClickHouseTarget(kind="chdb", display=f"chdb://{path}", path=path)
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ClickHouseDsnError(
                f"ClickHouse DSN {dsn!r} has no host; expected {scheme}://user:password@host:port."
            )
        try:
            _ = parts.port
        except ValueError as exc:
            raise ClickHouseDsnError(f"ClickHouse DSN {dsn!r}: the port is not a number.") from exc
        if parts.path not in ("", "/"):
            raise ClickHouseDsnError(
                f"ClickHouse DSN {dsn!r} names a database in its path; set the database with "
                "CIVICPULSE_CLICKHOUSE_DATABASE instead and drop the path from the DSN."
            )
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        user = f"{parts.username}:***@" if parts.username else ""
        display = urlunsplit((scheme, f"{user}{host}", "", "", ""))
        url = urlunsplit((scheme, parts.netloc, "", parts.query, ""))
        return ClickHouseTarget(kind="http", display=display, url=url)
    raise ClickHouseDsnError(
        f"ClickHouse DSN {dsn!r} has an unsupported scheme {parts.scheme!r}; use {_DSN_FORMS}."
    )


def validate_database_name(name: str) -> str:
    """Refuse database names that are not plain identifiers (they end up in DDL)."""
    if not _DATABASE_RE.match(name):
        raise SinkError(
            f"ClickHouse database name {name!r} is not a plain identifier; use letters, digits "
            "and underscores (set CIVICPULSE_CLICKHOUSE_DATABASE)."
        )
    return name


def quote_identifier(name: str) -> str:
    """Back-quote a validated identifier for DDL."""
    return f"`{validate_database_name(name)}`"


# One engine per process: its path, and one client per database on it.
_lock = threading.Lock()
_engine_path: str | None = None
_chdb_clients: dict[str, Client] = {}


def create_client(settings: Settings, *, database: str | None = None) -> Client:
    """Open (or reuse) the ClickHouse client for ``settings.clickhouse_url``.

    ``database`` defaults to ``settings.clickhouse_database`` and must exist (``civicpulse db
    migrate`` creates it); pass ``"default"`` for server-level work. chDB clients are cached per
    process and shared; HTTP clients are new on each call (cheap, and HTTP sessions must not be
    shared between threads).
    """
    target = parse_dsn(settings.clickhouse_url)
    db = validate_database_name(database or settings.clickhouse_database)
    if target.kind == "http":
        return _open_http(target, db)
    assert target.path is not None
    global _engine_path
    with _lock:
        if _engine_path is not None and _engine_path != target.path:
            raise EnginePathConflictError(
                f"this process already uses the embedded ClickHouse at {_engine_path}; chDB can "
                f"open only one path per process, so {target.path} cannot be opened too. Use one "
                "CIVICPULSE_CLICKHOUSE_DSN per process (or call close_clients() first)."
            )
        client = _chdb_clients.get(db)
        if client is None:
            client = _open_chdb(target.path, db)
            _chdb_clients[db] = client
            _engine_path = target.path
        return client


def close_clients() -> None:
    """Close every cached chDB client, releasing the path for other processes (shutdown, tests)."""
    global _engine_path
    with _lock:
        for client in _chdb_clients.values():
            client.close()
        _chdb_clients.clear()
        _engine_path = None


def _open_http(target: ClickHouseTarget, database: str) -> Client:
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    try:
        return clickhouse_connect.get_client(
            dsn=target.url, database=database, autogenerate_session_id=False
        )
    except OperationalError as exc:
        raise SinkError(
            f"cannot reach ClickHouse at {target.display}: {exc}. Is the server running? "
            "Check CIVICPULSE_CLICKHOUSE_DSN."
        ) from exc
    except DatabaseError as exc:
        raise _database_error(exc, database, target.display) from exc


def _open_chdb(path: str, database: str) -> Client:
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import DatabaseError, ProgrammingError

    private_dir(path)
    try:
        return clickhouse_connect.get_client(dsn=f"chdb://{path}", database=database)
    except ProgrammingError as exc:
        raise _engine_open_error(exc, path) from exc
    except DatabaseError as exc:
        raise _database_error(exc, database, f"chdb://{path}") from exc


def _database_error(exc: Exception, database: str, where: str) -> SinkError:
    if getattr(exc, "code", None) == _UNKNOWN_DATABASE:
        return SinkError(
            f"database {database!r} does not exist in ClickHouse at {where}; "
            "run `civicpulse db migrate` first."
        )
    return SinkError(f"ClickHouse at {where} refused the connection: {exc}")


def _engine_open_error(exc: Exception, path: str) -> SinkError:
    """Turn chDB's terse engine-start failure into one that says who holds the path."""
    holder = lock_holder(path)
    if holder is not None:
        return EngineLockedError(
            f"the embedded ClickHouse at {path} is in use by another process ({holder}). chDB "
            "lets one process open a path: stop the other civicpulse process (e.g. `civicpulse "
            "up` or `civicpulse sink`), run this command inside it, or use a ClickHouse server "
            "(CIVICPULSE_CLICKHOUSE_DSN=http://...)."
        )
    if "already initialized with path" in str(exc):
        return EnginePathConflictError(
            f"chDB in this process is already open on another path, so {path} cannot be opened: "
            f"{exc}. Use one CIVICPULSE_CLICKHOUSE_DSN per process."
        )
    return SinkError(f"cannot open the embedded ClickHouse at {path}: {exc}")


def lock_holder(path: str) -> str | None:
    """Describe the process holding ``<path>/status`` (ClickHouse's flock), or None if free."""
    status = Path(path) / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            # ClickHouse writes "PID: n", "Started at: ..." into the file it locks.
            text = status.read_text(errors="replace")
            fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
            return (
                ", ".join(f"{key} {fields[key]}" for key in ("PID", "Started at") if key in fields)
                or "unknown process"
            )
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
