"""The endpoint's own chDB connections: read-only, limited, a bounded number at a time.

chDB lets a process hold many connection handles on its one engine; each handle keeps its own
session settings, and one handle runs one query at a time. Measured on chDB 4.4 (this module's
tests and ``benchmarks/sql_endpoint.py``): a chDB query releases the GIL (a Python thread
counting during a 0.5 s query kept 100 % of its pace) and two queries on two handles run in
parallel, while two on one handle queue. So the endpoint opens ``sql_max_concurrent_queries``
handles of its own, apart from the sink's and the API's client (whose inserts never wait behind
a dashboard), runs each query in a worker thread, and a request waits for a free handle at most
``sql_queue_seconds`` (then ClickHouse's code 202).

Each handle is locked down once, when opened: the limits (``max_execution_time``,
``max_result_rows``/``bytes``, ``max_memory_usage``, ``max_threads``) are set, then
``readonly = 1``. From then on the engine itself refuses writes, DDL, setting changes (a client
cannot raise a limit, not even with a ``SETTINGS`` clause) and table functions such as
``file``/``url``/``remote``/``executable``. A client's URL settings are checked the way a
readonly ClickHouse user's are: a value equal to the current one is accepted, any other refused
by the engine with code 164.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from civicpulse.schemas.settings import Settings

from .errors import SqlEndpointError, engine_error

__all__ = ["QueryResult", "ReadOnlyPool", "limit_settings", "same_setting_value"]


@dataclass(frozen=True)
class QueryResult:
    """chDB's output bytes, untouched, and the statistics for ``X-ClickHouse-Summary``."""

    data: bytes
    rows_read: int
    bytes_read: int
    elapsed_s: float


_TRUE, _FALSE = frozenset({"1", "true"}), frozenset({"0", "false"})


def same_setting_value(wanted: str, current: str) -> bool:
    """Whether a client's value equals the current one, as ClickHouse compares them (pure)."""
    a, b = wanted.strip().strip("'").lower(), current.strip().strip("'").lower()
    if a == b or (a in _TRUE and b in _TRUE) or (a in _FALSE and b in _FALSE):
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def limit_settings(settings: Settings) -> dict[str, str]:
    """The per-query limits every endpoint handle runs with (pure)."""
    return {
        "max_execution_time": f"{settings.sql_max_execution_time:g}",
        "timeout_overflow_mode": "throw",
        "max_result_rows": str(settings.sql_max_result_rows),
        "max_result_bytes": str(settings.sql_max_result_bytes),
        "result_overflow_mode": "throw",
        "max_memory_usage": str(settings.sql_max_memory_usage),
        "max_threads": str(settings.sql_max_threads),
    }


class _Handle:
    """One locked-down chDB connection and the database it last switched to."""

    def __init__(self, path: str, database: str, limits: Mapping[str, str]) -> None:
        import chdb

        connect: Callable[[str], Any] = chdb.connect  # chdb has no type hints
        self.conn = connect(path)
        for name, value in limits.items():
            self.conn.query(f"SET {name} = '{value}'", "TabSeparated")
        self.conn.query("SET readonly = 1", "TabSeparated")
        self.database = ""
        self.use(database)

    def use(self, database: str) -> None:
        if database != self.database:
            self.conn.query(f"USE `{database}`", "TabSeparated")
            self.database = database


class ReadOnlyPool:
    """``size`` read-only handles on the engine at ``path``; :meth:`run` borrows one."""

    def __init__(self, path: str, database: str, settings: Settings) -> None:
        self.database = database
        self.queue_seconds = settings.sql_queue_seconds
        limits = limit_settings(settings)
        self._idle: queue.Queue[_Handle] = queue.Queue()
        self._all = [
            _Handle(path, database, limits) for _ in range(settings.sql_max_concurrent_queries)
        ]
        for handle in self._all:
            self._idle.put(handle)
        self._closed = threading.Event()
        #: current values of the settings clients named (fixed: the handles are readonly)
        self._current: dict[str, str] = {}

    def run(
        self,
        sql: str,
        output_format: str,
        *,
        database: str | None = None,
        parameters: Mapping[str, str] | None = None,
        client_settings: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """Run one checked read statement (blocking; call it from a worker thread)."""
        try:
            handle = self._idle.get(timeout=self.queue_seconds)
        except queue.Empty:
            raise SqlEndpointError(
                202,
                "TOO_MANY_SIMULTANEOUS_QUERIES",
                f"Too many simultaneous queries: all {len(self._all)} slots were busy for "
                f"{self.queue_seconds:g} s",
            ) from None
        try:
            if self._closed.is_set():
                raise SqlEndpointError(210, "NETWORK_ERROR", "The SQL endpoint is shutting down")
            started = time.perf_counter()
            try:
                handle.use(database or self.database)
                self._check_settings(handle, client_settings or {})
                result = handle.conn.query(sql, output_format, params=dict(parameters or {}))
            except RuntimeError as exc:
                raise engine_error(str(exc)) from exc
            data = result.bytes() or b""
            return QueryResult(
                data=data,
                rows_read=int(result.rows_read()),
                bytes_read=int(result.bytes_read()),
                elapsed_s=time.perf_counter() - started,
            )
        finally:
            self._idle.put(handle)

    def _check_settings(self, handle: _Handle, wanted: Mapping[str, str]) -> None:
        """Accept a client's setting when it equals the current value, as a readonly user."""
        unknown = [name for name in wanted if name not in self._current]
        if unknown:
            # Only identifiers are quoted into the SQL, so no name can break out of its literal.
            names = ", ".join(f"'{name}'" for name in unknown if name.isidentifier())
            if names:
                sql = f"SELECT name, value FROM system.settings WHERE name IN ({names})"  # noqa: S608
                rows = handle.conn.query(sql, "JSONCompact")
                for name, value in orjson.loads(rows.bytes())["data"]:
                    self._current[name] = value
        for name, value in wanted.items():
            current = self._current.get(name)
            if current is None:
                raise SqlEndpointError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
            if not same_setting_value(value, current):
                raise SqlEndpointError(
                    164, "READONLY", f"Cannot modify '{name}' setting in readonly mode"
                )

    def close(self) -> None:
        """Close every handle (waiting for running queries), so the engine can be released."""
        self._closed.set()
        for _ in self._all:
            handle = self._idle.get()
            handle.conn.close()
