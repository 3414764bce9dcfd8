"""``civicpulse demo``: the whole stack with a simulated city, for a newcomer's first minutes.

``run`` (the command: stack, hooks, links, summary), ``plan`` (the run planned as pure
functions: busy-hours clock, the degraded department, the surge), ``setup`` (what the store
already holds), ``feed`` (presses at the real pace), ``inbox`` (the demo's own alert inbox),
``summary`` (every press sent accounted for).
"""
