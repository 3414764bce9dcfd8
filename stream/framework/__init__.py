"""The processor framework over Faust: what a stage declares and how the runner runs it.

``processors`` is the API a data engineer writes against (``docs/processors.md``); ``runner``
runs each processor as an agent (reading order, skipping processed offsets, failures);
``checkpoint`` is the one commit order (outputs -> state with the processed offsets -> ack) and
``transaction`` the per-partition state every processor reads and writes; ``outputs`` is the one
output producer; ``registry`` keeps stages by name and the topics they declare; ``ordering``,
``failfast``, ``watchdog`` and ``faust_repairs`` are the guards the runner needs and the one place
that touches Faust internals. It imports no stage and nothing built on it (pinned by
``tests/unit/test_import_direction.py``).
"""
