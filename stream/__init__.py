"""The stream: Faust workers that judge, score and alert on presses as they arrive.

Rooms: ``framework/`` runs processors over Faust (the processor API, the runner and its commit
order, outputs, fail-fast, ordering, the stall watchdog, the worker); ``stages/`` holds the
built-in stages, each a pure core beside its processor (``antispam``, ``scores``, ``alerts``,
``reasons``); ``catalogue/`` is the catalogue on its compacted topic and the lookups every stage
uses; ``cli/`` the commands (``stream worker``, ``replay``, ``catalogue load``, ``alerts watch``).
"""
