"""civicpulse: real-time citizen-satisfaction analytics for city administrations.

The stages live in their own sub-packages (``civicpulse.schemas``, ``.producers``, ``.stream``,
``.sink``, ``.api``, ``.dashboards``, ``.infra``); this package only gathers the CLI.
"""

__version__ = "0.1.0"
