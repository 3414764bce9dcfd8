"""The misuse review: suspect periods in stored presses, scanned, listed and decided.

Pure scan: ``periods`` (the contract's periods), ``runs``, ``bursts``, ``patterns`` (the
patterns), ``rules`` (thresholds), ``stats``, ``words``; over ClickHouse: ``store``; commands:
``cli`` (``civicpulse review``), ``offline`` (a presses file -> suspect periods).
"""
