"""The stream's commands: ``replay`` (offline anti-spam), ``worker`` (``stream worker``,
``catalogue load``, ``alerts watch``), ``alerts_watch`` (the live view of an alert topic)."""
