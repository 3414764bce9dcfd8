"""``civicpulse review``: scan for suspect periods (offline or live), list them, decide them.

Heavy imports (chDB) happen inside the command bodies so that ``civicpulse --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import Settings

__all__ = ["review_app"]

review_app = typer.Typer(
    help="Misuse review: suspect periods (staff rating their own desk, one-sided hours, "
    "presses while closed) and reviewers' decisions.",
    no_args_is_help=True,
)


def _error(exc: CivicpulseError) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[red]error:[/red] {escape(str(exc))}", highlight=False
    )
    return typer.Exit(code=2)


@review_app.command("scan")
def scan_command(
    presses: Annotated[
        Path | None,
        typer.Argument(
            metavar="[PRESSES.jsonl]",
            help="press events, one JSON object a line ('-' reads stdin); leave out with --live",
        ),
    ] = None,
    catalogue: Annotated[
        Path | None,
        typer.Option(
            "--catalogue",
            "-c",
            metavar="CATALOGUE.json",
            help="device catalogue (contract format); needed offline, optional with --live "
            "(sites' opening_hours)",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            "-r",
            metavar="RULES.toml",
            help="rules TOML: anti-spam tables and the [review] thresholds; default: built-in",
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="scan the counted presses stored in ClickHouse")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="--live: start (ISO; naive = city time); default: 7 days ago")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="--live: end, exclusive (ISO); default: now")
    ] = None,
) -> None:
    """Write one JSON line per suspect period to stdout.

    Each line: {"device_id", "from", "to", "pattern", "presses", "evidence"} (plus "id",
    "site_id" and "figures"), ordered by device, start, pattern. Offline, the presses scanned
    are those the anti-spam judge counts (as `civicpulse replay` decides them); a line that is
    not a valid PressEvent is skipped with a message on stderr. With --live the counted presses
    in [--since, --until) are read from ClickHouse and the suspects are stored in
    `misuse_reviews` (state `open`, decisions kept) as well as printed.
    """
    from civicpulse.stream.cli import _open_input, load_catalogue
    from civicpulse.stream.judge import Judge, MemoryStore
    from civicpulse.stream.review import scan
    from civicpulse.stream.review_cli import scanned, site_hours, write_suspects
    from civicpulse.stream.review_rules import ReviewBook
    from civicpulse.stream.rules import RuleBook

    settings = Settings()
    try:
        book = ReviewBook.load(rules)
        cat = load_catalogue(catalogue) if catalogue is not None else None
        hours = site_hours(cat) if cat is not None else {}
        if live:
            if presses is not None:
                raise typer.BadParameter("give a presses file or --live, not both")
            raise typer.BadParameter(
                "--live is not built yet (issue 14, step 4): export the presses and scan the file"
            )
        else:
            if presses is None or cat is None:
                raise typer.BadParameter("offline scan needs PRESSES.jsonl and --catalogue")
            judge = Judge(cat, RuleBook.load(rules), MemoryStore())
            with _open_input(presses) as lines:
                suspects = scan(
                    scanned(lines, judge, sys.stderr),
                    book=book,
                    hours=hours,
                    timezone=settings.city_timezone,
                )
        write_suspects(suspects, sys.stdout.buffer)
    except CivicpulseError as exc:
        raise _error(exc) from None
