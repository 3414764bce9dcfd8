"""The processor framework over Faust: what a stage declares and how the runner runs it.

``processors`` is the API a data engineer writes against (``docs/processors.md``); ``runner``
runs each processor as an agent (reading order, flush and commit order, failures); ``outputs``
is the one output producer and the table store; ``app`` builds the Faust app of the configured
stages, ``worker`` starts it; ``ordering``, ``failfast``, ``watchdog`` and ``faust_repairs`` are
the guards the runner needs and the one place that touches Faust internals; ``testing`` runs one
processor as a real worker for its tests.
"""
