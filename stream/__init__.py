"""The stream: Faust workers that judge, score and alert on presses as they arrive.

Rooms: ``framework/`` runs processors over Faust (the processor API, the runner, the checkpoint
and state transactions, outputs, the guards, the stage registry); ``stages/`` holds the built-in
stages, each a pure core beside its processor (``antispam``, ``scores``, ``alerts``, ``reasons``,
registered in ``stages/builtin.py``); ``catalogue/`` is the catalogue on its compacted topic and
the lookups every stage uses; ``app.py`` wires the registered stages into one Faust app,
``worker.py`` starts it, ``testing.py`` runs one processor as a real worker for its tests;
``cli/`` holds the commands (``stream worker``, ``replay``, ``catalogue load``, ``alerts watch``).
"""
