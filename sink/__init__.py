"""Kafka -> ClickHouse, the write path: the one ClickHouse client factory, DDL migrations, the
batching sink, and ``delivery`` (alerts to people: webhooks, chat, e-mail).

Public entry points: :func:`civicpulse.sink.clickhouse.create_client` (the only place that opens
ClickHouse), :func:`civicpulse.sink.migrate.migrate`, and the row mapping in
:mod:`civicpulse.sink.rows`. Heavy modules (chDB) are imported lazily by the callers. The read
side is ``analytics``.
"""
