"""Local stack launcher: a real Apache Kafka broker and the pipeline's topics.

Public entry points (import the submodules; this package itself imports nothing heavy):

- ``civicpulse.infra.kafka.ensure_broker(settings) -> bootstrap``: the ``KAFKA_BOOTSTRAP``
  cluster, else the launcher's own broker (started when needed).
- ``civicpulse.infra.kafka.start_broker / stop_broker / kafka_status``: what the CLI runs.
- ``civicpulse.infra.topics.create_topics(bootstrap, prefix)`` and
  ``ensure_alert_topics(bootstrap, department_ids, prefix)``: idempotent topic creation.
"""
