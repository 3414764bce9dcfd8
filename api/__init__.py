"""The HTTP edge, FastAPI: one app (``app.py``) of four rooms and the SQL endpoint.

``ingest/`` (presses in: terminals, the web widget and kiosk, device keys, visitors, limits),
``query/`` (the query API under ``/v1`` with its tokens), ``alerts/`` (the alert stream and
the alert lifecycle), ``pages/`` (the pages people open: live wall, kiosk and widget assets,
phone page, public results, QR poster, docs; their ``static/`` files), ``sql_endpoint/``
(ClickHouse's HTTP interface over the embedded store, for Grafana). ``edge.py`` is the outer
ASGI guard, ``serving.py`` how uvicorn serves, ``cli.py`` the commands.
"""
