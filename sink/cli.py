"""``civicpulse db migrate|status`` and ``civicpulse sink``.

chDB and the Kafka client are imported inside the command bodies so ``civicpulse --help`` stays
fast.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import get_settings

__all__ = ["db_app", "sink_command"]

db_app = typer.Typer(
    help="ClickHouse schema: apply and inspect the versioned DDL migrations.",
    no_args_is_help=True,
)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Database to migrate (default: CIVICPULSE_CLICKHOUSE_DATABASE, i.e. civicpulse).",
    ),
]


def _fail(console: Console, exc: CivicpulseError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


@db_app.command("migrate")
def migrate_command(database: DatabaseOption = None) -> None:
    """Create the database if missing and apply every pending migration, in order (re-runnable)."""
    from civicpulse.sink.clickhouse import parse_dsn
    from civicpulse.sink.migrate import migrate

    console = Console()
    settings = get_settings()
    try:
        where = parse_dsn(settings.clickhouse_url).display
        report = migrate(settings, database=database)
    except CivicpulseError as exc:
        raise _fail(console, exc) from exc
    for migration in report.skipped:
        console.print(f"  [dim]skipped[/dim]  {migration.version:04d}_{migration.name}")
    for migration in report.applied:
        console.print(f"  [green]applied[/green]  {migration.version:04d}_{migration.name}")
    console.print(
        f"database [bold]{report.database}[/bold] at {where}: "
        f"{len(report.applied)} applied, {len(report.skipped)} already there"
    )


@db_app.command("status")
def status_command(database: DatabaseOption = None) -> None:
    """Show applied and pending migrations; exit 1 if one is pending or was edited since."""
    from civicpulse.sink.clickhouse import parse_dsn
    from civicpulse.sink.migrate import migration_status

    console = Console()
    settings = get_settings()
    try:
        where = parse_dsn(settings.clickhouse_url).display
        status = migration_status(settings, database=database)
    except CivicpulseError as exc:
        raise _fail(console, exc) from exc
    table = Table(title=f"migrations of {status.database} at {where}")
    table.add_column("version")
    table.add_column("name")
    table.add_column("state")
    table.add_column("applied at (UTC)")
    changed = {record.version for record in status.changed}
    for record in status.applied:
        state = "[red]changed since applied[/red]" if record.version in changed else "applied"
        if record in status.unknown:
            state = "[yellow]applied, no file (newer code?)[/yellow]"
        table.add_row(
            f"{record.version:04d}", record.name, state, f"{record.applied_at:%Y-%m-%d %H:%M:%S}"
        )
    for migration in status.pending:
        table.add_row(f"{migration.version:04d}", migration.name, "[yellow]pending[/yellow]", "")
    console.print(table)
    if not status.database_exists:
        console.print(f"database {status.database} does not exist yet: run `civicpulse db migrate`")
    if status.pending or status.changed:
        raise typer.Exit(code=1)


def sink_command(
    group: Annotated[
        str,
        typer.Option(help="Kafka consumer group; sink instances of one group share partitions."),
    ] = "civicpulse-sink",
    batch_rows: Annotated[
        int, typer.Option(min=1, help="Flush when a partition's batch holds this many messages.")
    ] = 10_000,
    batch_seconds: Annotated[
        float, typer.Option(min=0.01, help="Flush when the oldest batch is this many seconds old.")
    ] = 1.0,
    stop_when_idle: Annotated[
        float | None,
        typer.Option(help="Exit after this many seconds without messages (backfills, tests)."),
    ] = None,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first.")
    ] = True,
) -> None:
    """Consume presses.accepted/.rejected, scores and alerts.all into ClickHouse.

    Offsets are committed only after ClickHouse accepted the batch; inserts are idempotent.
    Messages that cannot be stored go to the deadletter topic. SIGTERM flushes and commits.
    With CIVICPULSE_METRICS_PORT set, Prometheus /metrics is served on 127.0.0.1:PORT.
    """
    from civicpulse.analytics.silent_watch import start_silent_watch
    from civicpulse.sink.batch import BatchPolicy
    from civicpulse.sink.migrate import migrate
    from civicpulse.sink.writer import Sink

    console = Console()
    settings = get_settings()
    try:
        if migrate_first:
            migrate(settings)
        sink = Sink(
            settings,
            group_id=group,
            policy=BatchPolicy(max_rows=batch_rows, max_age=batch_seconds),
        )
        console.print(
            f"sink: {settings.bootstrap_servers} -> {settings.clickhouse_database} "
            f"(group {group}); Ctrl-C or SIGTERM to stop"
        )
        if settings.metrics_port:
            from civicpulse.sink.metrics import serve

            serve(settings.metrics_port)
            console.print(f"metrics: http://127.0.0.1:{settings.metrics_port}/metrics")
        # A long-running sink also checks for silent devices (docs/alerts.md); a backfill not.
        silent = None if stop_when_idle is not None else start_silent_watch(settings, sink.client)
        try:
            stats = sink.run(stop_when_idle=stop_when_idle)
        finally:
            if silent is not None:
                silent.stop()
    except CivicpulseError as exc:
        raise _fail(console, exc) from exc
    stored = ", ".join(f"{table} {count}" for table, count in sorted(stats.rows.items()))
    console.print(
        f"sink stopped: {stats.messages} messages, stored {stored or 'nothing'}, "
        f"{stats.dead} dead-lettered, {stats.checkpoints} checkpoints"
    )
