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
``readonly = 2``. From then on the engine itself refuses writes, DDL and a change of
``readonly``; the guard (:mod:`.guard`) keeps ``SETTINGS`` clauses off the limits and table
functions that leave the store out (``readonly = 1`` would refuse those too, but also the
``SETTINGS`` clauses panel SQL carries). A client's URL settings apply to its query: the
handle it runs on is given exactly those settings on top of its defaults (:meth:`_Handle.apply`),
the limits excepted (:meth:`ReadOnlyPool._client_settings`).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from civicpulse.api.sql_endpoint.errors import SqlEndpointError, engine_error
from civicpulse.api.sql_endpoint.guard import blocked_functions
from civicpulse.schemas.settings import Settings

__all__ = ["QueryResult", "ReadOnlyPool", "limit_settings"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class QueryResult:
    """chDB's output bytes, untouched, and the statistics for ``X-ClickHouse-Summary``."""

    data: bytes
    rows_read: int
    bytes_read: int
    elapsed_s: float


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
        self.conn.query("SET readonly = 2", "TabSeparated")
        self.database = ""
        #: the client settings the handle carries now (see :meth:`apply`)
        self.applied: dict[str, str] = {}
        self.use(database)

    def apply(self, values: Mapping[str, str]) -> None:
        """Give the handle exactly ``values`` on top of its defaults (names checked by the
        caller; values quoted, so a value cannot end the statement). What the last query set and
        this one sets too stays: a driver sends the same settings every time, so most queries
        need no ``SET`` at all."""
        for name in [name for name in self.applied if name not in values]:
            self.conn.query(f"SET {name} = DEFAULT", "TabSeparated")
            del self.applied[name]
        for name, value in values.items():
            if self.applied.get(name) != value:
                quoted = value.replace("\\", "\\\\").replace("'", "\\'")
                self.applied.pop(name, None)
                self.conn.query(f"SET {name} = '{quoted}'", "TabSeparated")
                self.applied[name] = value

    def use(self, database: str) -> None:
        # A name is spliced into USE, and chDB runs every statement of a text: identifiers only.
        if not _IDENTIFIER.match(database):
            raise SqlEndpointError(81, "UNKNOWN_DATABASE", f"Database {database!r} does not exist")
        if database != self.database:
            self.conn.query(f"USE `{database}`", "TabSeparated")
            self.database = database


class ReadOnlyPool:
    """``size`` read-only handles on the engine at ``path``; :meth:`run` borrows one."""

    def __init__(self, path: str, database: str, settings: Settings) -> None:
        self.database = database
        self.queue_seconds = settings.sql_queue_seconds
        limits = limit_settings(settings)
        #: the settings a client may not change (the guard keeps SETTINGS clauses off them)
        self.limits = frozenset(limits)
        self._idle: queue.Queue[_Handle] = queue.Queue()
        self._all: list[_Handle] = []
        try:
            for _ in range(settings.sql_max_concurrent_queries):
                self._all.append(_Handle(path, database, limits))
        except RuntimeError as exc:
            for handle in self._all:
                handle.conn.close()
            error = engine_error(str(exc))
            raise SqlEndpointError(
                error.code,
                error.name,
                f"the SQL endpoint cannot open database {database!r} in {path}: {error.text} "
                "(run `civicpulse db migrate` first)",
            ) from exc
        names = self._all[0].conn.query("SELECT name FROM system.table_functions", "TabSeparated")
        #: the table functions the guard refuses: all the engine knows but the safe ones
        self.blocked = blocked_functions(names.bytes().decode().split())
        for handle in self._all:
            self._idle.put(handle)
        self._closed = threading.Event()

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
                handle.apply(self._client_settings(client_settings or {}))
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

    def _client_settings(self, wanted: Mapping[str, str]) -> dict[str, str]:
        """The client's URL settings the handle takes for one query (pure).

        The limits are the endpoint's to set: clickhouse-go (so Grafana) sends its own
        ``max_execution_time`` with every query, so a client's values for the limits are
        dropped and the endpoint's apply; ``readonly`` is the engine's to refuse (code 164).
        """
        for name in wanted:
            if not _IDENTIFIER.match(name):
                raise SqlEndpointError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
        return {k: v for k, v in wanted.items() if k not in self.limits}

    def close(self) -> None:
        """Close every handle (waiting for running queries), so the engine can be released."""
        self._closed.set()
        for _ in self._all:
            handle = self._idle.get()
            handle.conn.close()
