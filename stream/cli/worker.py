"""``civicpulse stream worker``, ``civicpulse catalogue load``, ``civicpulse alerts watch``.

Faust and confluent-kafka are imported inside the command bodies (``civicpulse --help`` stays
fast).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import get_settings
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.stages.builtin import BUILT_IN

__all__ = ["alerts_app", "catalogue_app", "stream_app"]

stream_app = typer.Typer(help="Run the stream processors (Faust worker).", no_args_is_help=True)
catalogue_app = typer.Typer(
    help="Publish the device catalogue to its compacted topic.", no_args_is_help=True
)
alerts_app = typer.Typer(
    help="Follow alerts live (watch); send them to the departments (deliver).",
    no_args_is_help=True,
)

_err = Console(stderr=True, soft_wrap=True)

#: ``--stages``: the registered stages (``stream.stages.builtin``), the default ones by default
_STAGES_HELP = "; ".join(f"{stage.name} ({stage.summary})" for stage in BUILT_IN.stages())
_DEFAULT_STAGES = ",".join(stage.name for stage in BUILT_IN.choose(BUILT_IN.defaults()))


def _fail(exc: CivicpulseError) -> typer.Exit:
    _err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(code=2)


def _transport(name: str) -> Literal["aiokafka", "confluent"]:
    if name == "aiokafka":
        return "aiokafka"
    if name == "confluent":
        return "confluent"
    raise StreamError(f"unknown transport {name!r}: choose aiokafka or confluent")


@stream_app.command("worker")
def worker_command(
    rules: Annotated[
        Path | None,
        typer.Option("--rules", "-r", help="anti-spam rules TOML (default: CIVICPULSE_RULES_FILE)"),
    ] = None,
    alert_rules: Annotated[
        Path | None,
        typer.Option(
            "--alert-rules", envvar="CIVICPULSE_ALERT_RULES_FILE", help="alert rules TOML"
        ),
    ] = None,
    grace: Annotated[
        float, typer.Option(help="seconds of event time a window stays open for stragglers")
    ] = 120.0,
    batch_size: Annotated[int, typer.Option(help="presses judged per batch")] = 2000,
    tick: Annotated[
        float, typer.Option(help="seconds between idle checks that close windows at night")
    ] = 5.0,
    drain: Annotated[
        float,
        typer.Option(
            help="seconds without a press after which the stream counts as drained: every "
            "window holding a press closes (the hour and day windows of a replayed backlog)"
        ),
    ] = 30.0,
    session_timeout: Annotated[
        float, typer.Option(help="seconds before a dead worker's partitions move to the others")
    ] = 10.0,
    web_port: Annotated[
        int | None, typer.Option(help="serve Faust's web views on 127.0.0.1:PORT (default: off)")
    ] = None,
    stall_seconds: Annotated[
        float,
        typer.Option(
            help="a held source partition with a backlog and no committed progress is sought "
            "back to its committed offset after 10 s (or this many, if fewer); if it is still "
            "stuck this many seconds after the seek, the worker exits (status 75) to be "
            "restarted",
        ),
    ] = 30.0,
    loglevel: Annotated[str, typer.Option(help="log level")] = "info",
    stages: Annotated[str, typer.Option(help=f"comma-separated stages to run: {_STAGES_HELP}")] = (
        _DEFAULT_STAGES
    ),
    transport: Annotated[
        str,
        typer.Option(
            help="Faust's Kafka driver: aiokafka (tested), or confluent (for the benchmark: it "
            "does not start a worker on faust-streaming 0.15.3, docs/benchmarks.md)"
        ),
    ] = "aiokafka",
    group: Annotated[
        str,
        typer.Option(
            help="consumer group <prefix>civicpulse-<group>; give a worker of an added "
            "processor its own (docs/processors.md)"
        ),
    ] = "stream",
) -> None:
    """Run one stream worker: anti-spam, scores and alerts by default. Start several to share
    the load.

    Broker, topic prefix, city time zone and data dir come from the CIVICPULSE_* settings, and
    so does the port of its Prometheus /metrics on 127.0.0.1 (CIVICPULSE_METRICS_PORT; unset:
    none). Load the catalogue (`civicpulse catalogue load`) before presses flow: a press of a
    device the worker has not heard of is judged unknown_device.
    """
    from civicpulse.infra.topics import validate_topic_name
    from civicpulse.stream.app import StreamConfig
    from civicpulse.stream.stages.alerts.state_machine import AlertBook
    from civicpulse.stream.stages.antispam.rules import RuleBook
    from civicpulse.stream.worker import run_worker

    settings = get_settings()
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        config = StreamConfig(
            bootstrap=settings.bootstrap_servers,
            prefix=settings.topic_prefix,
            data_dir=settings.data_dir / "stream",
            rules=RuleBook.load(rules or settings.rules_file),
            alerts=AlertBook.load(alert_rules),
            timezone=settings.city_timezone,
            city_id=settings.city_id,
            grace_seconds=grace,
            batch_size=batch_size,
            tick_seconds=tick,
            drain_seconds=drain,
            session_timeout=session_timeout,
            stall_seconds=stall_seconds,
            stages=frozenset(x.strip() for x in stages.split(",") if x.strip()),
            web_port=web_port,
            metrics_port=settings.metrics_port,
            transport=_transport(transport),
            group=validate_topic_name(group),  # it names the group's changelog topics
            replication_factor=settings.topic_replication_factor,
        )
        run_worker(config, loglevel=loglevel)
    except CivicpulseError as exc:
        raise _fail(exc) from None


@catalogue_app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.json", help="catalogue JSON (contract)")],
) -> None:
    """Validate a catalogue file and make the catalogue topic hold exactly it.

    Also creates the alert topic of every department (alerts.<department_id>).
    """
    from civicpulse.infra.topics import ensure_alert_topics, ensure_topics
    from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
    from civicpulse.stream.catalogue.topic import publish_catalogue
    from civicpulse.stream.cli.replay import load_catalogue

    settings = get_settings()
    try:
        catalogue = load_catalogue(file)
        bootstrap, prefix = settings.bootstrap_servers, settings.topic_prefix
        ensure_topics(bootstrap, [CATALOGUE_DEVICES], prefix)
        report = publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), catalogue)
        ensure_alert_topics(bootstrap, [d.department_id for d in catalogue.departments], prefix)
    except CivicpulseError as exc:
        raise _fail(exc) from None
    Console().print(
        f"catalogue {file}: {report.written} record(s) written, {report.deleted} deleted, "
        f"{report.unchanged} unchanged"
    )


@alerts_app.command("watch")
def watch_command(
    department: Annotated[
        str | None,
        typer.Option("--department", "-d", help="only this department (alerts.<department>)"),
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option(help="replay the topic from its start before following it")
    ] = True,
    seconds: Annotated[
        float | None, typer.Option(help="stop after this many seconds (default: until Ctrl-C)")
    ] = None,
) -> None:
    """A live view of alert events: open alerts and the latest events."""
    from civicpulse.stream.cli.alerts_watch import watch

    settings = get_settings()
    try:
        watch(settings, department, from_beginning=from_beginning, seconds=seconds)
    except CivicpulseError as exc:
        raise _fail(exc) from None
