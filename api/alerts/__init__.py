"""Alerts over HTTP: ``stream`` (``GET /v1/alerts/stream``, Server-Sent Events from the alert
topics, in the order of ``order``) and ``actions`` (acknowledge, comment, close)."""
