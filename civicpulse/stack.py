"""``civicpulse up``: the whole pipeline on one machine, in as few processes as chDB allows.

Embedded chDB can be opened by one process only, so the sink and the API run here, in this
process, sharing the one client the factory caches; the Faust worker runs as a child process
(it never touches ClickHouse), restarted when it exits (``civicpulse.supervisor``). With an HTTP
ClickHouse the stages can equally run apart (`civicpulse sink`, `civicpulse api serve`,
`civicpulse stream worker`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import get_settings

from .supervisor import Supervisor

__all__ = ["StackOptions", "up_command"]

console = Console(stderr=True)


@dataclass(frozen=True)
class StackOptions:
    api_port: int = 8000
    worker: bool = True


def _worker_supervisor() -> Supervisor:
    # The child inherits CIVICPULSE_* and KAFKA_BOOTSTRAP, so it sees the same settings.
    def exited(status: int, delay: float) -> None:
        console.print(
            f"[yellow]stream worker exited with status {status}; restarting in {delay:.0f}s[/]"
        )

    return Supervisor(
        [sys.executable, "-m", "civicpulse", "stream", "worker", "--loglevel", "warning"],
        env=os.environ.copy(),
        on_exit=exited,
    )


def run_stack(options: StackOptions) -> None:
    """Start broker (if local), topics, migrations; then worker, sink and API until stopped."""
    import uvicorn

    from civicpulse.api.app import create_app
    from civicpulse.infra.kafka import ensure_broker
    from civicpulse.infra.topics import create_topics
    from civicpulse.sink.clickhouse import close_clients, create_client
    from civicpulse.sink.migrate import migrate
    from civicpulse.sink.writer import Sink

    settings = get_settings()
    with console.status("starting Kafka"):
        bootstrap = ensure_broker(settings)
    console.print(f"kafka: {bootstrap}")
    report = create_topics(bootstrap, settings.topic_prefix)
    console.print(f"topics: {len(report.created)} created, {len(report.existing)} existing")
    migrate(settings)
    client = create_client(settings)
    console.print(f"clickhouse: {settings.clickhouse_database} migrated")

    worker = _worker_supervisor() if options.worker else None
    if worker is not None:
        worker.start()
    sink = Sink(settings, client=client)
    sink_thread = threading.Thread(target=sink.run, name="sink", daemon=True)
    sink_thread.start()
    console.print(f"api: http://127.0.0.1:{options.api_port}/  (Ctrl-C stops everything)")
    # uvicorn shuts down on SIGINT/SIGTERM and then re-raises the signal to the handler that was
    # installed before it; a no-op there lets the sink flush and commit below instead of dying.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    try:
        uvicorn.run(
            create_app(settings),
            host="127.0.0.1",
            port=options.api_port,
            access_log=False,
            log_level="warning",
        )
    finally:
        sink.stop()
        sink_thread.join(timeout=30)
        if worker is not None:
            worker.stop(timeout=30)
        close_clients()
        console.print(f"stopped; sink stored {sink.stats.messages} messages")


def up_command(
    api_port: Annotated[int, typer.Option(help="loopback port of the API")] = 8000,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="also run the Faust stream worker")
    ] = True,
) -> None:
    """Run the pipeline: Kafka (local unless KAFKA_BOOTSTRAP), stream worker, sink and API.

    The sink and the API share this process and its one ClickHouse client, which embedded chDB
    requires; SIGINT/SIGTERM flush the sink, commit its offsets and stop the worker.
    """
    try:
        run_stack(StackOptions(api_port=api_port, worker=worker))
    except CivicpulseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
