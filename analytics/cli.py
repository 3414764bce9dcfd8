"""Analytics commands over the stored data: ``verify``, ``export``, ``report`` (its own module,
:mod:`civicpulse.analytics.report.cli`, re-exported here).

Heavy imports (chDB, pyarrow) happen inside the command bodies so that
``civicpulse --help`` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from civicpulse.analytics.report.cli import report_command
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import Settings

__all__ = ["export_command", "parse_moment", "report_command", "verify_command"]


def parse_moment(text: str, tz: str) -> datetime:
    """An ISO date or date-time; naive values are read in the city time zone."""
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or date-time (e.g. 2026-03-01 or 2026-03-01T08:00Z)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.astimezone(UTC)


def _fail(console: Console, exc: CivicpulseError) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(2)


def verify_command(
    since: Annotated[
        str | None,
        typer.Option(
            help="start of the range (ISO; naive = city time); default: 00:00 of the 7th day "
            "before --until"
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="end of the range, exclusive; default: the end of the newest stored window"
        ),
    ] = None,
    city_id: Annotated[
        str | None,
        typer.Option(help="scope_id of the city scope; default: CIVICPULSE_CITY_ID"),
    ] = None,
    limit: Annotated[int, typer.Option(help="list at most this many mismatches")] = 50,
) -> None:
    """Recompute closed-window scores from the stored presses and compare them with `scores`.

    Every window inside [--since, --until) must match count for count (n, n1..n4; score within
    1e-9). Without a range: the stored data's last 7 days. Says how many windows it compared;
    exits 1 on any mismatch, and when it compared none in a range that holds counted presses.
    """
    from civicpulse.analytics.verify import RECENT_DAYS, stored_range, verify_scores
    from civicpulse.sink.clickhouse import create_client

    console = Console()
    settings = Settings()
    tz = settings.city_timezone
    city = city_id or settings.city_id
    try:
        client = create_client(settings)
        stored = stored_range(client, tz)
        if stored is None and since is None and until is None:
            console.print(
                "nothing stored yet (no counted press, no score window): nothing to verify"
            )
            return
        start, end = stored or (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
        if until is not None:
            end = parse_moment(until, tz)
        if since is not None:
            start = parse_moment(since, tz)
        elif until is not None:
            start = end - timedelta(days=RECENT_DAYS)
        if end <= start:
            raise typer.BadParameter("--until must be after --since")
        result = verify_scores(client, since=start, until=end, tz=tz, city_id=city, limit=limit)
    except CivicpulseError as exc:
        raise _fail(console, exc) from exc
    span = f"{start.isoformat()} .. {end.isoformat()} (city scope {city!r}, zone {tz})"
    if result.empty:
        console.print(f"no counted press and no stored window in {span}: nothing compared")
        return
    if result.ok:
        console.print(
            f"[green]ok[/green]: {result.compared} closed windows in {span} match the "
            f"{result.counted} counted presses"
        )
        return
    if not result.mismatches:
        console.print(
            f"[red]failed[/red]: {result.counted} counted presses in {span} but no closed "
            "window to compare: is the stream scoring them (is `civicpulse up` running)?"
        )
        raise typer.Exit(1)
    table = Table(title=f"score mismatches in {span}")
    for column in ("problem", "scope", "scope_id", "kind", "window", "window_start"):
        table.add_column(column)
    table.add_column("recomputed n/n1..n4 (score)")
    table.add_column("stored n/n1..n4 (score)")

    def cell(counts: tuple[int, ...] | None, score: float | None) -> str:
        if counts is None:
            return "-"
        shown = "-" if score is None else f"{score:.6f}"
        return f"{counts[0]} / {' '.join(map(str, counts[1:]))} ({shown})"

    for m in result.mismatches:
        table.add_row(
            m.problem,
            m.scope,
            m.scope_id,
            m.kind,
            m.window,
            m.window_start.isoformat(),
            cell(m.expected, m.expected_score),
            cell(m.stored, m.stored_score),
        )
    console.print(table)
    more = " (more not shown)" if result.truncated else ""
    console.print(f"[red]{len(result.mismatches)} mismatching window(s){more}[/red]")
    raise typer.Exit(1)


def _export_quarter(quarter: str, out: Path) -> None:
    from zoneinfo import ZoneInfo

    from civicpulse.analytics.quarterly import export_quarter, parse_quarter
    from civicpulse.analytics.report.pdf import find_catalogue
    from civicpulse.sink.clickhouse import create_client

    console = Console()
    settings = Settings()
    try:
        parse_quarter(quarter)  # refuse a bad quarter before opening the engine
        found = find_catalogue(settings, None)
        catalogue = found.catalogue or Catalogue()
        console.print(f"standards from the catalogue: {escape(found.source)}")
        today = datetime.now(ZoneInfo(settings.city_timezone)).date()
        rows = export_quarter(
            create_client(settings),
            catalogue,
            quarter=quarter,
            tz=settings.city_timezone,
            out=out,
            today=today,
        )
    except CivicpulseError as exc:
        raise _fail(console, exc) from exc
    console.print(f"{quarter}: {rows} rows -> {out}")


def export_command(
    out: Annotated[Path, typer.Argument(help="output file (.parquet or .csv)")],
    from_: Annotated[
        str | None, typer.Option("--from", help="first moment (ISO; naive = city time), inclusive")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="end (ISO; naive = city time), exclusive")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet or csv", case_sensitive=False)
    ] = "parquet",
    scope: Annotated[
        str | None, typer.Option(help="only one site or department: site:ID or department:ID")
    ] = None,
    include_rejected: Annotated[
        bool,
        typer.Option(
            "--include-rejected", help="also presses the anti-spam filter excluded (verdict)"
        ),
    ] = False,
    scores: Annotated[
        bool,
        typer.Option("--scores", help="also write the window scores to <OUT stem>-scores.<ext>"),
    ] = False,
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter",
            help="instead of presses: one CSV row per service (department, site) and channel "
            "for a quarter, e.g. 2026Q3 (responses, share satisfied, mean score, standard)",
        ),
    ] = None,
) -> None:
    """Export up to one year of presses (and scores) to Parquet or CSV, in constant memory.

    Counted presses only unless --include-rejected; every press once (deduplicated on
    event_id). Timestamps are UTC; event_id is the canonical UUID string. With --quarter the
    quarterly service figures instead (docs/standards.md).
    """
    if quarter is not None:
        _export_quarter(quarter, out)
        return
    if from_ is None or to is None:
        raise typer.BadParameter("give --from and --to (or --quarter)")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from civicpulse.analytics.export import ExportRequest, check_range, export, parse_scope
    from civicpulse.sink.clickhouse import create_client

    console = Console()
    settings = Settings()
    tz = settings.city_timezone
    fmt_name = fmt.lower()
    if fmt_name not in ("parquet", "csv"):
        raise typer.BadParameter("--format must be parquet or csv")
    try:
        request = ExportRequest(
            start=parse_moment(from_, tz),
            end=parse_moment(to, tz),
            fmt="parquet" if fmt_name == "parquet" else "csv",
            out=out,
            scope=parse_scope(scope),
            include_rejected=include_rejected,
            scores=scores,
        )
        # refuse a bad range before opening the engine (which may be locked by `up`)
        check_range(request.start, request.end)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            console=console,
            transient=False,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def on_rows(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=max(total, 1))
                progress.update(tasks[name], completed=done, total=max(total, done, 1))

            summary = export(create_client(settings), request, on_rows)
    except CivicpulseError as exc:
        raise _fail(console, exc) from exc
    for name, path in summary.files.items():
        console.print(f"{name}: {summary.rows[name]} rows -> {path}")
