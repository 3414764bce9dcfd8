"""``civicpulse review``: scan for suspect periods (offline or live), list them, decide them.

Heavy imports (chDB) happen inside the command bodies so that ``civicpulse --help`` stays fast.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import Settings

if TYPE_CHECKING:
    from civicpulse.analytics.review.periods import Suspect
    from civicpulse.analytics.review.rules import ReviewBook
    from civicpulse.schemas.catalogue import OpeningHours

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
    from civicpulse.analytics.review.offline import scanned, site_hours, write_suspects
    from civicpulse.analytics.review.periods import scan
    from civicpulse.analytics.review.rules import ReviewBook
    from civicpulse.stream.cli.replay import _open_input, load_catalogue
    from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
    from civicpulse.stream.stages.antispam.rules import RuleBook

    settings = Settings()
    try:
        book = ReviewBook.load(rules)
        cat = load_catalogue(catalogue) if catalogue is not None else None
        hours = site_hours(cat) if cat is not None else {}
        if live:
            if presses is not None:
                raise typer.BadParameter("give a presses file or --live, not both")
            suspects = _live_scan(settings, book, hours, since, until)
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


def _live_scan(
    settings: Settings,
    book: ReviewBook,
    hours: dict[str, OpeningHours],
    since: str | None,
    until: str | None,
) -> list[Suspect]:
    """Scan the stored presses of [since, until), store new suspects, re-apply confirmations."""
    from civicpulse.analytics.cli import parse_moment
    from civicpulse.analytics.review.periods import scan
    from civicpulse.analytics.review.store import load_presses, rescore_confirmed, store_suspects
    from civicpulse.sink.clickhouse import create_client

    tz = settings.city_timezone
    now = datetime.now(UTC)
    end = parse_moment(until, tz) if until is not None else now
    start = parse_moment(since, tz) if since is not None else end - timedelta(days=7)
    if end <= start:
        raise typer.BadParameter("--until must be after --since")
    client = create_client(settings)
    suspects = scan(load_presses(client, start, end), book=book, hours=hours, timezone=tz)
    new = store_suspects(client, suspects, now)
    rescored = rescore_confirmed(client, start, end, tz=tz, city_id=settings.city_id)
    Console(stderr=True).print(
        f"{len(suspects)} suspect periods, {new} new stored in misuse_reviews; "
        f"{rescored} confirmed periods re-applied to the stored scores",
        highlight=False,
    )
    return suspects


@review_app.command("list")
def list_command(
    state: Annotated[
        str, typer.Option(help="open, confirmed, dismissed or all", show_default=True)
    ] = "open",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """List stored suspect periods (found by `civicpulse review scan --live`)."""
    import orjson
    from rich.table import Table

    from civicpulse.analytics.review.store import list_reviews
    from civicpulse.sink.clickhouse import create_client

    if state not in ("open", "confirmed", "dismissed", "all"):
        raise typer.BadParameter("--state is one of open, confirmed, dismissed, all")
    try:
        found = list_reviews(
            create_client(Settings()),
            state=None if state == "all" else state,  # type: ignore[arg-type]
        )
    except CivicpulseError as exc:
        raise _error(exc) from None
    if as_json:
        for review in found:
            sys.stdout.buffer.write(orjson.dumps(review.record()) + b"\n")
        return
    table = Table("id", "device", "from", "to", "pattern", "presses", "state", "note")
    for review in found:
        record = review.record()
        table.add_row(
            review.id, review.device_id, record["from"], record["to"], review.pattern,
            str(review.presses), review.state, review.note,
        )  # fmt: skip
    Console(soft_wrap=True).print(table)


def _decide(review_id: str, state: Literal["confirmed", "dismissed"], note: str) -> None:
    import getpass

    import orjson

    from civicpulse.analytics.review.store import decide
    from civicpulse.sink.clickhouse import create_client

    settings = Settings()
    try:
        review = decide(
            create_client(settings),
            review_id,
            state=state,
            note=note,
            by=getpass.getuser(),
            tz=settings.city_timezone,
            city_id=settings.city_id,
        )
    except CivicpulseError as exc:
        raise _error(exc) from None
    sys.stdout.buffer.write(orjson.dumps(review.record()) + b"\n")


_ID = Annotated[
    str, typer.Argument(metavar="ID", help="the period's id (`civicpulse review list`)")
]
_NOTE = Annotated[str, typer.Option("--note", help="why, in the reviewer's words")]


@review_app.command("confirm")
def confirm_command(review_id: _ID, note: _NOTE = "") -> None:
    """Confirm a suspect period: its presses become misuse on every surface, and the closed
    windows it touches are recomputed so that `civicpulse verify` still holds."""
    _decide(review_id, "confirmed", note)


@review_app.command("dismiss")
def dismiss_command(review_id: _ID, note: _NOTE = "") -> None:
    """Dismiss a suspect period (honest presses; a dismissed confirmation counts them again)."""
    _decide(review_id, "dismissed", note)
