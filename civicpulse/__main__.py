"""``python -m civicpulse``: the same CLI as the ``civicpulse`` console script."""

from civicpulse.cli import app

app()
