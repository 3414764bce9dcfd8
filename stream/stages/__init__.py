"""The built-in stages, one sub-package each: a pure core beside the processor that wires it.

``antispam`` (presses.raw -> accepted/rejected), ``scores`` (the scoring hop and the rolling
windows, closed windows to ``scores``), ``alerts`` (the alert state machine the scores stage
steps), ``reasons`` (follow-up reasons per department and hour: the worked example of
``docs/processors.md``). ``builtin`` registers them: the names ``--stages`` accepts.
"""
