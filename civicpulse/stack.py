"""``civicpulse up``: the whole pipeline on one machine, in as few processes as chDB allows.

Embedded chDB can be opened by one process only, so the sink and the API run here, in this
process, sharing the one client the factory caches; the Faust worker runs as a child process
(it never touches ClickHouse), restarted when it exits and killed by the kernel if this process
dies (``civicpulse.supervisor``). With an HTTP ClickHouse the stages can equally run apart
(`civicpulse sink`, `civicpulse api serve`, `civicpulse stream worker`).

A broker this process started is stopped when it stops; a broker that was already running (or
an external cluster, ``KAFKA_BOOTSTRAP``) is left alone. ``civicpulse demo`` runs the same stack
with hooks (``StackHooks``): it starts the simulator once everything answers and prints its
summary before the sink's ClickHouse client is closed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.files import private_dir
from civicpulse.schemas.settings import Settings, get_settings
from civicpulse.supervisor import Supervisor

if TYPE_CHECKING:
    import uvicorn
    from clickhouse_connect.driver.client import Client
    from fastapi import FastAPI

    from civicpulse.analytics.silent_watch import SilentWatch
    from civicpulse.analytics.standards_mirror import StandardsMirror
    from civicpulse.api.sql_endpoint import SqlServer
    from civicpulse.infra.kafka import LauncherConfig
    from civicpulse.sink.writer import Sink

__all__ = ["StackContext", "StackHooks", "StackOptions", "run_stack", "up_command"]

console = Console(stderr=True)


@dataclass(frozen=True)
class StackOptions:
    api_port: int = 8000
    #: port of the SQL endpoint (embedded chDB only); None = CIVICPULSE_SQL_PORT
    sql_port: int | None = None
    worker: bool = True
    #: seconds of event time a score window stays open (the worker's --grace); None = default
    grace: float | None = None
    #: stop by itself after this many seconds (None = until SIGINT/SIGTERM)
    duration: float | None = None


@dataclass(frozen=True)
class StackContext:
    """What a hook may use: settings, the broker's address, the shared ClickHouse client."""

    settings: Settings
    bootstrap: str
    client: Client
    api_url: str
    #: ask the stack to stop (as Ctrl-C would)
    stop: Callable[[], None]


@dataclass(frozen=True)
class StackHooks:
    #: after topics, migrations and the catalogue, before the worker starts
    prepare: Callable[[StackContext], None] | None = None
    #: once the API serves (runs in its own thread)
    started: Callable[[StackContext], None] | None = None
    #: after the API stopped, while the worker and the sink still run
    stopping: Callable[[StackContext], None] | None = None
    #: after the worker and the sink stopped, before the client closes
    stopped: Callable[[StackContext], None] | None = None


def _worker_supervisor(grace: float | None, metrics_port: int) -> Supervisor:
    # The child inherits CIVICPULSE_* and KAFKA_BOOTSTRAP, so it sees the same settings.
    def exited(status: int, delay: float) -> None:
        console.print(
            f"[yellow]stream worker exited with status {status}; restarting in {delay:.0f}s[/]"
        )

    command = [sys.executable, "-m", "civicpulse", "stream", "worker", "--loglevel", "warning"]
    if grace is not None:
        command += ["--grace", f"{grace:g}"]
    env = {**os.environ, "CIVICPULSE_METRICS_PORT": str(metrics_port)}
    console.print(f"stream worker metrics: http://127.0.0.1:{metrics_port}/metrics")
    return Supervisor(command, env=env, on_exit=exited, name="stream-worker")


def _delivery_supervisor(settings: Settings) -> Supervisor | None:
    """`civicpulse alerts deliver` as a supervised child when CIVICPULSE_SUBSCRIPTIONS is set.

    The file is read here first, so a malformed one stops `up` at once with the line named.
    """
    if settings.subscriptions is None:
        return None
    from civicpulse.sink.delivery.subscriptions import load_subscriptions

    count = len(load_subscriptions(settings.subscriptions))
    console.print(f"alert delivery: {count} subscription(s) from {settings.subscriptions}")

    def exited(status: int, delay: float) -> None:
        console.print(
            f"[yellow]alert delivery exited with status {status}; restarting in {delay:.0f}s[/]"
        )

    command = [sys.executable, "-m", "civicpulse", "alerts", "deliver"]
    return Supervisor(command, env=os.environ.copy(), on_exit=exited, name="alert-delivery")


def _start_broker(settings: Settings) -> tuple[str, LauncherConfig | None]:
    """Bootstrap servers, and the launcher config when this call started the broker."""
    from civicpulse.infra.kafka import LauncherConfig, ensure_broker, start_broker

    if settings.kafka_bootstrap:
        return ensure_broker(settings), None
    config = LauncherConfig.from_settings(settings)
    with console.status("starting Kafka") as status:
        started = start_broker(config, progress=lambda text: status.update(text))
    return started.bootstrap, config if started.started_now else None


def _load_catalogue_file(settings: Settings, bootstrap: str) -> None:
    """CIVICPULSE_CATALOGUE_FILE, when set, is loaded onto the catalogue topic (a convenience)."""
    if settings.catalogue_file is None:
        return
    from civicpulse.infra.topics import ensure_alert_topics
    from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
    from civicpulse.stream.catalogue.topic import publish_catalogue
    from civicpulse.stream.cli.replay import load_catalogue

    catalogue = load_catalogue(settings.catalogue_file)
    topic = topic_name(CATALOGUE_DEVICES, settings.topic_prefix)
    report = publish_catalogue(bootstrap, topic, catalogue)
    departments = [d.department_id for d in catalogue.departments]
    ensure_alert_topics(bootstrap, departments, settings.topic_prefix)
    console.print(f"catalogue {settings.catalogue_file}: {report.written} record(s) written")


def run_stack(options: StackOptions, hooks: StackHooks | None = None) -> None:
    """Start broker (if local), topics, migrations; then worker, sink and API until stopped."""
    from civicpulse.infra.kafka import stop_broker

    settings = get_settings()
    private_dir(settings.data_dir)  # keys, salt, broker log, chDB: nobody else's to read
    bootstrap, owned_broker = _start_broker(settings)
    console.print(f"kafka: {bootstrap}" + (" (started here)" if owned_broker else ""))
    try:
        _run_on(settings, bootstrap, options, hooks or StackHooks())
    finally:
        if owned_broker is not None:
            with console.status("stopping the Kafka broker this run started"):
                stop_broker(owned_broker)
            console.print("kafka: stopped")


def _run_on(settings: Settings, bootstrap: str, options: StackOptions, hooks: StackHooks) -> None:
    """Prepare topics and store, serve the API with everything beside it until stopped."""
    delivery = _delivery_supervisor(settings)  # a malformed subscriptions file stops us here
    client = _prepare_topics_and_store(settings, bootstrap)
    app, server, sql_server = _build_servers(settings, options)

    def stop() -> None:
        server.should_exit = True

    context = StackContext(
        settings, bootstrap, client, f"http://127.0.0.1:{options.api_port}", stop
    )
    if hooks.prepare is not None:
        hooks.prepare(context)
    background = _start_background(settings, options, client, app, delivery)
    if options.duration is not None:
        timer = threading.Timer(options.duration, stop)
        timer.daemon = True
        timer.start()
    threading.Thread(target=_when_serving, args=(server, hooks, context), daemon=True).start()
    # uvicorn shuts down on SIGINT/SIGTERM and then re-raises the signal to the handler that was
    # installed before it; a no-op there lets the sink flush and commit below instead of dying.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    try:
        server.run()
    finally:
        # A second Ctrl-C while stopping must not leave the worker or the broker behind.
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, lambda *_: console.print("[yellow]stopping...[/]"))
        _shut_down(sql_server, background, hooks, context)


def _prepare_topics_and_store(settings: Settings, bootstrap: str) -> Client:
    """Create the topics, migrate ClickHouse, load the catalogue file; the shared client."""
    from civicpulse.infra.topics import create_topics
    from civicpulse.sink.clickhouse import create_client
    from civicpulse.sink.migrate import migrate

    report = create_topics(bootstrap, settings.topic_prefix)
    console.print(f"topics: {len(report.created)} created, {len(report.existing)} existing")
    migrate(settings)
    client = create_client(settings)
    console.print(f"clickhouse: {settings.clickhouse_database} migrated")
    _load_catalogue_file(settings, bootstrap)
    return client


def _build_servers(
    settings: Settings, options: StackOptions
) -> tuple[FastAPI, uvicorn.Server, SqlServer | None]:
    """The API app and its (not yet running) uvicorn server; the SQL endpoint, started."""
    import uvicorn

    from civicpulse.api.app import create_app
    from civicpulse.api.serving import uvicorn_options
    from civicpulse.api.sql_endpoint import start_sql_server

    app = create_app(settings)
    # Grafana and BI tools read the embedded store through ClickHouse's HTTP interface.
    sql_server = start_sql_server(settings, app.state.api_tokens, port=options.sql_port)
    if sql_server is not None:
        console.print(f"sql: http://{sql_server.host}:{sql_server.port}/ (ClickHouse HTTP)")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=options.api_port,
            log_level="warning",
            **uvicorn_options(settings),
        )
    )
    return app, server, sql_server


@dataclass(frozen=True)
class _Background:
    """What runs beside the API and is stopped after it."""

    worker: Supervisor | None
    delivery: Supervisor | None
    sink: Sink
    sink_thread: threading.Thread
    silent: SilentWatch | None
    standards: StandardsMirror


def _start_background(
    settings: Settings,
    options: StackOptions,
    client: Client,
    app: FastAPI,
    delivery: Supervisor | None,
) -> _Background:
    """Start the stream worker, alert delivery, the sink thread, the silent-device watch and the
    standards mirror."""
    from civicpulse.analytics.silent_watch import opening_hours_of, start_silent_watch
    from civicpulse.analytics.standards_mirror import start_standards_mirror
    from civicpulse.infra.kafka_process import free_port
    from civicpulse.sink.writer import Sink

    # The worker's /metrics: CIVICPULSE_METRICS_PORT, else a free port (kept across restarts).
    metrics_port = settings.metrics_port or free_port()
    worker = _worker_supervisor(options.grace, metrics_port) if options.worker else None
    if worker is not None:
        worker.start()
    if delivery is not None:
        delivery.start()
    sink = Sink(settings, client=client)
    sink_thread = threading.Thread(target=sink.run, name="sink", daemon=True)
    sink_thread.start()
    # Silent devices are checked where the store is (docs/alerts.md, "Silent devices").
    silent = start_silent_watch(
        settings, client, opening_hours_of(app.state.ingest.catalogue.get, settings.city_timezone)
    )
    # Grafana's standards panels read the catalogue's standards from the store (docs/standards.md).
    source = app.state.ingest.catalogue
    standards = start_standards_mirror(client, source.get, lambda: source.loaded)
    return _Background(worker, delivery, sink, sink_thread, silent, standards)


def _shut_down(
    sql_server: SqlServer | None, background: _Background, hooks: StackHooks, context: StackContext
) -> None:
    """After the API stopped: the ``stopping`` hook, then everything else, then the client."""
    from civicpulse.sink.clickhouse import close_clients

    try:
        if sql_server is not None:
            sql_server.stop()
        if hooks.stopping is not None:
            hooks.stopping(context)
    finally:
        if background.silent is not None:
            background.silent.stop()
        background.standards.stop()
        background.sink.stop()
        background.sink_thread.join(timeout=30)
        if background.worker is not None:
            background.worker.stop(timeout=30)
        if background.delivery is not None:
            background.delivery.stop(timeout=30)
        console.print(f"stopped; sink stored {background.sink.stats.messages} messages")
        try:
            if hooks.stopped is not None:
                hooks.stopped(context)
        finally:
            close_clients()


def _when_serving(server: object, hooks: StackHooks, context: StackContext) -> None:
    import time

    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.1)
    console.print(f"api: {context.api_url}/  (Ctrl-C stops everything)")
    console.print(f"metrics of the API and the sink: {context.api_url}/metrics")
    if hooks.started is not None:
        hooks.started(context)


def up_command(
    api_port: Annotated[int, typer.Option(help="loopback port of the API")] = 8000,
    sql_port: Annotated[
        int | None,
        typer.Option(help="port of the SQL endpoint (default CIVICPULSE_SQL_PORT, 8123)"),
    ] = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="also run the Faust stream worker")
    ] = True,
) -> None:
    """Run the pipeline: Kafka (local unless KAFKA_BOOTSTRAP), stream worker, sink and API.

    The sink and the API share this process and its one ClickHouse client, which embedded chDB
    requires; SIGINT/SIGTERM flush the sink, commit its offsets, stop the worker and the broker
    this command started. Load the catalogue with `civicpulse catalogue load FILE.json` (or set
    CIVICPULSE_CATALOGUE_FILE to have it loaded at start). With CIVICPULSE_SUBSCRIPTIONS set,
    `civicpulse alerts deliver` runs too (a supervised child), sending alerts to the departments.
    """
    try:
        run_stack(StackOptions(api_port=api_port, sql_port=sql_port, worker=worker))
    except CivicpulseError as exc:
        # escaped: a message may quote a file's text, e.g. "[[subscription]] #2, line 9"
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
