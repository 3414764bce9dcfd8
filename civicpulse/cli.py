"""The ``civicpulse`` command: one entry point gathering every stage's sub-commands.

Each stage owns its commands in its own ``cli`` module; heavy imports (Faust, chDB) happen inside
the command bodies so that ``civicpulse --help`` stays fast.
"""

from __future__ import annotations

import typer

from civicpulse.infra.cli import kafka_app, topics_app
from civicpulse.schemas.cli import schemas_app
from civicpulse.sink.cli import db_app

app = typer.Typer(
    name="civicpulse",
    help="Citizen-satisfaction analytics: smiley presses -> Kafka -> stream -> ClickHouse.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(kafka_app, name="kafka")
app.add_typer(topics_app, name="topics")
app.add_typer(db_app, name="db")
app.add_typer(schemas_app, name="schemas")

__all__ = ["app"]
