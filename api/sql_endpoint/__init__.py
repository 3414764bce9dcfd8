"""The SQL endpoint: ClickHouse's HTTP interface, read-only, over the embedded chDB.

With the embedded default the process that owns chDB (``civicpulse up``, ``civicpulse api
serve``) also answers as a ClickHouse server on ``CIVICPULSE_SQL_HOST:CIVICPULSE_SQL_PORT``, so
Grafana's ClickHouse plugin, clickhouse-connect, clickhouse-go and JDBC read the store
(docs/operations.md). What lives where:

* :mod:`.protocol` — the request as ClickHouse's HTTP interface defines it (pure);
* :mod:`.guard` — one read statement, no table function that leaves the store (pure);
* :mod:`.errors` — ClickHouse's error codes, texts and HTTP statuses;
* :mod:`.engine` — the endpoint's own read-only, limited chDB handles, a bounded number;
* :mod:`.server` — the ASGI app, token check, response headers, the uvicorn thread.
"""

from civicpulse.api.sql_endpoint.server import SqlServer, start_sql_server

__all__ = ["SqlServer", "start_sql_server"]
