"""The simulated city: seeded presses with labelled dishonest patterns, for demos, tests and
benchmarks.

``city`` (departments, sites, devices, hours, moods), ``generate`` (the presses), ``plan`` and
``staff`` (injected patterns), ``run`` (where a run goes, the paced feed), ``evaluate`` and
``report`` (filter precision/recall), ``cli`` (``civicpulse simulate``). Its own top-level
folder: it feeds every stage and reads two of them (the stream's judge, the review), so it
belongs to none.
"""
