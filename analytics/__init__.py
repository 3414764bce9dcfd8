"""The ClickHouse read side: every answer computed from what the sink stored.

``queries``, ``api_queries``, ``live_queries`` (the SQL of dashboards, the query API and the
live wall), ``verify`` (closed windows against a recomputation), ``export`` and ``quarterly``
(files for analysts), ``standards``/``standards_read`` and ``channels`` (service standards and
channels side by side), ``alert_lifecycle``, ``silence``/``silent_watch`` (silent devices),
``report/`` (the annual service report), ``review/`` (the misuse review), ``cli`` (``verify``,
``export``, ``report``). The write path (Kafka -> ClickHouse, the DDL) is ``sink``.
"""
