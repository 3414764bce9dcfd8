"""``civicpulse report``: the annual service report as PDF and/or HTML, with a progress bar.

Heavy imports (chDB) happen inside the command body so that ``civicpulse --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import Settings

if TYPE_CHECKING:
    from civicpulse.analytics.report.gather import ReportData
    from civicpulse.analytics.report.pdf import CatalogueFound

__all__ = ["report_command"]

_STEPS_PER_YEAR = 8  # the steps of report.collect_year


def report_command(
    out: Annotated[
        Path,
        typer.Argument(
            help="OUT.pdf (the PDF, with OUT.html beside it) or OUT.html (the page only)"
        ),
    ],
    year: Annotated[int, typer.Option(help="calendar year in the city time zone")],
    lang: Annotated[str, typer.Option(help="language of the report: pl or en")] = "pl",
    catalogue: Annotated[
        Path | None,
        typer.Option(
            help="catalogue JSON for site and department names; default: "
            "CIVICPULSE_CATALOGUE_FILE, else the catalogue topic when a broker answers, else "
            "the newest <data dir>/demo/<run>/catalogue.json"
        ),
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="with OUT.html: also print OUT.pdf beside it")
    ] = False,
) -> None:
    """Write the annual service report a city publishes, for one calendar year.

    A cover and a one-page summary (city score, responses, change against the previous year,
    best and weakest departments, alerts and how fast they were resolved, misuse found), then
    departments with the monthly trend, sites (best and weakest fair-ranked, never
    overlapping), channels, time of day and week (heat map), employee mood, filtered presses,
    misuse reviews, alerts, and every site in an annex. Every figure carries its number of
    responses; figures on fewer than 30 are marked. With the previous year stored, every table
    shows the change. Dates and times are the city's (CIVICPULSE_CITY_TIMEZONE).

    The PDF is printed by Chromium (Debian: apt-get install chromium; scripts/bootstrap
    installs it); the HTML prints the same from any browser. With the embedded engine (the
    default) the report opens the data folder itself: run it while `civicpulse up` is stopped.
    """
    if lang not in ("pl", "en"):
        raise typer.BadParameter(f"--lang {lang!r}: choose pl or en")
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise typer.BadParameter(f"{out}: name the output OUT.pdf or OUT.html")
    want_pdf = suffix == ".pdf" or pdf
    console = Console(soft_wrap=True)  # messages stay whole lines (paths, commands)
    if want_pdf:
        _require_chromium(console)
    settings = Settings()
    found = _catalogue_for_names(settings, catalogue, console)
    html_file = out if suffix != ".pdf" else out.with_suffix(".html")
    try:
        data = _write_report(settings, year, lang, found, html_file, want_pdf, console)
    except CivicpulseError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    city = data.current["city"]
    previous = "" if data.previous is None else f", {year - 1} for comparison"
    console.print(f"report {year}: {city['n']} counted citizen responses{previous}")
    console.print(f"html -> {html_file}")
    if want_pdf:
        console.print(f"pdf  -> {html_file.with_suffix('.pdf')}")


def _require_chromium(console: Console) -> None:
    """Exit 2 with the install command when Chromium, which prints the PDF, is missing."""
    from civicpulse.analytics.report.pdf import find_chromium

    if find_chromium() is None:
        console.print(
            "[red]error:[/red] the PDF is printed by Chromium, which is not installed: "
            "sudo apt-get install chromium (or write OUT.html and print it from a browser)"
        )
        raise typer.Exit(2)


def _catalogue_for_names(
    settings: Settings, given: Path | None, console: Console
) -> CatalogueFound:
    """The catalogue that names sites and departments (None: ids are shown), said to the user."""
    from civicpulse.analytics.report.pdf import find_catalogue

    try:
        found = find_catalogue(settings, given)
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] catalogue: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if found.catalogue is None:
        console.print(
            "note: no catalogue found (--catalogue, CIVICPULSE_CATALOGUE_FILE, the catalogue "
            "topic, a demo run): sites and departments appear by id"
        )
    else:
        console.print(f"names from the catalogue: {escape(found.source)}")
    return found


def _write_report(
    settings: Settings,
    year: int,
    lang: str,
    found: CatalogueFound,
    html_file: Path,
    want_pdf: bool,
    console: Console,
) -> ReportData:
    """Read the year (and the one before), write the page, print the PDF; a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from civicpulse.analytics.report.gather import collect, render_html
    from civicpulse.analytics.report.pdf import print_pdf
    from civicpulse.sink.clickhouse import create_client

    total = 2 * _STEPS_PER_YEAR + 1 + int(want_pdf)
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("reading", total=total)
        finished = 0

        def step(label: str, _done: int, _total: int) -> None:
            nonlocal finished
            finished += 1
            progress.update(task, completed=finished, description=label)

        data = collect(create_client(settings), year, settings.city_timezone, found.catalogue, step)
        html_file.write_text(render_html(data, lang), encoding="utf-8")
        step("page written", 0, 0)
        if want_pdf:
            progress.update(task, description="printing the PDF")
            print_pdf(html_file, html_file.with_suffix(".pdf"))
            step("PDF printed", 0, 0)
    return data
