"""The ``civicpulse`` command: one entry point gathering every stage's sub-commands.

Each stage owns its commands in its own ``cli`` module; heavy imports (Faust, chDB) happen inside
the command bodies so that ``civicpulse --help`` stays fast.
"""

from __future__ import annotations

import typer

from civicpulse.analytics.cli import export_command, report_command, verify_command
from civicpulse.analytics.review.cli import review_app
from civicpulse.api.cli import api_app, devices_app
from civicpulse.api.pages.poster import qr_command
from civicpulse.api.query.tokens_cli import tokens_app
from civicpulse.cli_help import reflow_help
from civicpulse.dashboards.cli import dashboards_app
from civicpulse.demo.run import demo_command
from civicpulse.infra.cli import kafka_app, topics_app
from civicpulse.producers.cli import terminal_command
from civicpulse.schemas.cli import schemas_app
from civicpulse.simulator.cli import simulate_app
from civicpulse.sink.cli import db_app, sink_command
from civicpulse.sink.delivery.cli import DELIVER_HELP, deliver_command
from civicpulse.stack import up_command
from civicpulse.stream.cli.replay import replay_command
from civicpulse.stream.cli.worker import alerts_app, catalogue_app, stream_app

app = typer.Typer(
    name="civicpulse",
    help="Citizen-satisfaction analytics: smiley presses -> Kafka -> stream -> ClickHouse.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("up")(up_command)
app.command("demo")(demo_command)
app.add_typer(kafka_app, name="kafka")
app.add_typer(topics_app, name="topics")
app.add_typer(db_app, name="db")
app.command("sink")(sink_command)
app.command("verify")(verify_command)
app.command("export")(export_command)
app.command("report")(report_command)
app.command("qr")(qr_command)
app.add_typer(schemas_app, name="schemas")
app.command("replay")(replay_command)
app.add_typer(review_app, name="review")
app.add_typer(stream_app, name="stream")
app.add_typer(catalogue_app, name="catalogue")
alerts_app.command("deliver", help=DELIVER_HELP)(deliver_command)
app.add_typer(alerts_app, name="alerts")
app.add_typer(api_app, name="api")
app.add_typer(devices_app, name="devices")
app.add_typer(tokens_app, name="tokens")
app.command("terminal")(terminal_command)
app.add_typer(simulate_app, name="simulate")
app.add_typer(dashboards_app, name="dashboards")
reflow_help(app)  # after every registration: help paragraphs re-wrap to the terminal's width

__all__ = ["app"]
